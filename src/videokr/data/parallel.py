"""Map a picklable function over chunks of items: inline, in a local process pool, or as Ray tasks on a cluster.

The data stages that touch every video (`data check`, the RL length filter; decontamination's hashing next) share
this one helper. `fn` takes a list of items and returns one result per item; results come back in input order
whatever the backend, so a report written from them is the same byte for byte. Per-process state (a tokenizer, a
processor config) is the function's own business: build it on first call and cache it in the module, which serves
a pool process and a reused Ray worker alike.

With `ray_address`, videokr connects to a running cluster as a driver and disconnects at the end; it never starts
or stops the cluster. Every node needs the same environment and the videos at the same paths (a shared mount).
"""

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

from videokr.deps import require

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
ChunkFn = Callable[[list[T]], list[R]]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last one shorter).

    >>> list(chunked(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    iterator = iter(items)
    while chunk := list(islice(iterator, max(1, size))):
        yield chunk


def map_chunks(
    fn: ChunkFn[T, R],
    items: Iterable[T],
    *,
    workers: int = 1,
    chunk_size: int = 64,
    ray_address: str | None = None,
) -> Iterator[R]:
    """`fn` over chunks of `items`, flattened, in input order.

    One worker and no Ray: inline. `workers` > 1: that many local processes. `ray_address`: Ray tasks on that
    cluster (`auto` for the one this machine belongs to), `workers` of them in flight (0: the cluster's CPUs).
    At most two chunks per worker are in flight, so memory stays flat on corpora of any size.
    """
    chunks = chunked(items, chunk_size)
    if ray_address:
        yield from _map_ray(fn, chunks, ray_address, workers)
    elif workers <= 1:
        for chunk in chunks:
            yield from _checked(fn, chunk)
    else:
        yield from _map_pool(fn, chunks, workers)


def _checked(fn: ChunkFn[T, R], chunk: list[T]) -> list[R]:
    results = fn(chunk)
    if len(results) != len(chunk):
        raise RuntimeError(f"{fn!r} returned {len(results)} results for {len(chunk)} items")
    return results


def _map_pool(fn: ChunkFn[T, R], chunks: Iterator[list[T]], workers: int) -> Iterator[R]:
    with ProcessPoolExecutor(workers) as pool:
        pending: deque[Future[list[R]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_checked, fn, chunk))
                if len(pending) >= 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _map_ray(fn: ChunkFn[T, R], chunks: Iterator[list[T]], address: str, workers: int) -> Iterator[R]:
    ray: Any = require("ray")
    connected = not ray.is_initialized()
    if connected:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    try:
        slots = workers if workers > 0 else max(1, int(ray.cluster_resources().get("CPU", 1)))
        # SPREAD: the tasks are I/O- and decode-bound, so every node's disks and cores should take a share.
        task = ray.remote(num_cpus=1, scheduling_strategy="SPREAD", max_retries=2)(_checked)
        pending: deque[Any] = deque()
        try:
            for chunk in chunks:
                pending.append(task.remote(fn, chunk))
                if len(pending) >= 2 * slots:
                    yield from ray.get(pending.popleft())
            while pending:
                yield from ray.get(pending.popleft())
        finally:
            for ref in pending:
                ray.cancel(ref)
    finally:
        if connected:
            ray.shutdown()  # disconnects this driver; the cluster keeps running
