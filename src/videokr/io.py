"""Atomic file output and JSON-lines helpers: an interrupted write never leaves a half file behind."""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temp file beside `path`; on success fsync and rename it over `path`, on error delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_open(path) as handle:
        handle.write(text)


def write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    """Write `obj` as JSON to `path` atomically (UTF-8, non-ASCII kept)."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, ensure_ascii=False, indent=indent)
        handle.write("\n")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> int:
    """Write one JSON object per line to `path` atomically; returns the number of rows."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def append_jsonl(path: str | os.PathLike[str], row: Any) -> None:
    """Append one JSON line and flush it to disk (for caches and logs that must survive a kill).

    A torn last line left by a killed writer is cut off first, so it never ends up in the middle of the file.

    >>> import tempfile; log = Path(tempfile.mkdtemp()) / "calls.jsonl"
    >>> _ = log.write_text('{"a": 1}\\n{"a": ')
    >>> append_jsonl(log, {"a": 2}); list(read_jsonl(log))
    [{'a': 1}, {'a': 2}]
    """
    with open(path, "a+b") as handle:
        _cut_torn_tail(handle)
        handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def _cut_torn_tail(handle: Any) -> None:
    """Truncate an append-mode binary file after its last newline when it does not end with one."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    block, end = 65536, size
    while end > 0:
        start = max(0, end - block)
        handle.seek(start)
        newline = handle.read(end - start).rfind(b"\n")
        if newline >= 0:
            handle.truncate(start + newline + 1)
            return
        end = start
    handle.truncate(0)


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield the JSON value of every non-blank line; a torn last line (a killed writer) is ignored."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            if index == len(lines) - 1:
                return
            raise


def fingerprint_path(path: Path) -> str:
    """A cheap fingerprint of a file or folder tree: relative names, sizes and modification times."""
    if not path.exists():
        return f"{path}:missing"
    if path.is_file():
        stat = path.stat()
        return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    parts = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            stat = (Path(root) / name).stat()
            parts.append(f"{os.path.relpath(Path(root) / name, path)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
