"""data.parallel.map_chunks: results in input order from the inline, pool and (in tests/distributed) Ray paths."""

import functools

import pytest

from videokr.data.parallel import chunked, map_chunks


def square_chunk(offset: int, items: list[int]) -> list[int]:
    """Module-level, so a pool process (or a Ray worker) can unpickle it."""
    return [offset + i * i for i in items]


def short_chunk(items: list[int]) -> list[int]:
    return items[:-1]


@pytest.mark.parametrize("workers", [pytest.param(1, id="inline"), pytest.param(2, id="pool")])
@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_map_chunks_keeps_input_order(workers: int, chunk_size: int) -> None:
    fn = functools.partial(square_chunk, 1)
    got = list(map_chunks(fn, iter(range(50)), workers=workers, chunk_size=chunk_size))
    assert got == [1 + i * i for i in range(50)]


def test_map_chunks_empty_input_and_chunking() -> None:
    assert list(map_chunks(short_chunk, [], workers=2)) == []
    assert list(chunked([], 3)) == [] and list(chunked(range(3), 0)) == [[0], [1], [2]]


@pytest.mark.parametrize("workers", [1, 2])
def test_map_chunks_rejects_a_function_that_loses_items(workers: int) -> None:
    with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
        list(map_chunks(short_chunk, [1, 2], workers=workers, chunk_size=2))
