"""Streaming reading of corpus files (a JSON array or JSON lines): rows and canonical Samples, with issues."""

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from videokr.errors import DataError
from videokr.records import RowError, RowIssue, Sample

Row = dict[str, Any]


def require_file(path: str | os.PathLike[str]) -> Path:
    """`path` as a Path, or DataError when it is missing or not a file."""
    source = Path(path)
    if not source.exists():
        raise DataError(f"input file {source} does not exist")
    if not source.is_file():
        raise DataError(f"input {source} is not a file")
    return source


def _open_input(path: str | os.PathLike[str]) -> IO[bytes]:
    source = require_file(path)
    try:
        return source.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from exc


def _first_char(handle: IO[bytes]) -> bytes:
    head = handle.read(4096)
    handle.seek(0)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _check_object(line: int, value: Any) -> Row | RowIssue:
    if isinstance(value, dict):
        return value
    return RowIssue(line, "row", f"expected a JSON object, got {type(value).__name__}")


def _iter_jsonl(handle: IO[bytes], bar: tqdm | None) -> Iterator[tuple[int, Row | RowIssue]]:
    for number, raw in enumerate(handle, start=1):
        if bar is not None:
            bar.update(len(raw))
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))  # decoding first skips json's own encoding sniffing
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            yield number, RowIssue(number, "json", f"invalid JSON: {exc}")
            continue
        yield number, _check_object(number, value)


def _iter_array(handle: IO[bytes], bar: tqdm | None) -> Iterator[tuple[int, Row | RowIssue]]:
    data = handle.read()
    if bar is not None:
        bar.update(len(data))
    try:
        values = json.loads(data)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        yield line, RowIssue(line, "json", f"invalid JSON array: {exc}")
        return
    if not isinstance(values, list):
        yield 1, RowIssue(1, "json", "expected a JSON array of objects or JSON lines")
        return
    # In a JSON array "line" is the 1-based position of the element.
    for number, value in enumerate(values, start=1):
        yield number, _check_object(number, value)


def read_rows(path: str | os.PathLike[str], progress: str | None = None) -> Iterator[tuple[int, Row | RowIssue]]:
    """Yield (line, row dict or RowIssue) for every non-blank line of a JSONL file or element of a JSON array.

    JSON lines are streamed (memory stays flat); a JSON array is parsed whole. `progress` names a tqdm bar.
    """
    handle = _open_input(path)
    bar = (
        tqdm(total=os.path.getsize(path), unit="B", unit_scale=True, desc=progress, disable=None) if progress else None
    )
    try:
        if _first_char(handle) == b"[":
            yield from _iter_array(handle, bar)
        else:
            yield from _iter_jsonl(handle, bar)
    finally:
        handle.close()
        if bar is not None:
            bar.close()


def to_sample(line: int, row: Row | RowIssue) -> Sample | RowIssue:
    """A Sample from a row, or the RowIssue saying why it cannot be one."""
    if isinstance(row, RowIssue):
        return row
    try:
        return Sample.from_raw(row)
    except RowError as exc:
        return RowIssue(line, exc.field, exc.message)


def read_samples(path: str | os.PathLike[str], progress: str | None = None) -> Iterator[tuple[int, Sample | RowIssue]]:
    """Yield (line, Sample or RowIssue) for every row of `path` (see `read_rows`)."""
    for line, row in read_rows(path, progress):
        yield line, to_sample(line, row)


@functools.lru_cache(maxsize=8)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def resolve_video_path(root: str | os.PathLike[str], relative: str) -> str:
    """An absolute path for a row's relative video: `<root>/<path>`, else `<root>/Videos/<path>` (PROTOCOL.md 4).

    The first candidate that exists wins; when none does, the first is returned (the caller decides). `root`
    is made absolute with its symlinks resolved; `relative` is expected normalised (Sample.video_path), and
    symlinks below the root are left as they are (string operations only: this runs once per row).
    """
    base = _real_root(os.fspath(root))
    first = os.path.join(base, relative)
    if os.path.exists(first):
        return first
    if relative.startswith("Videos/"):
        second = os.path.join(base, relative.removeprefix("Videos/"))
    else:
        second = os.path.join(base, "Videos", relative)
    return second if os.path.exists(second) else first
