"""Streaming reading of corpus files (a JSON array or JSON lines): rows and canonical Samples, with issues.

This is the one place raw rows are parsed. A UTF-8 BOM and CRLF line endings are read as if absent. A line that
is not UTF-8 or not JSON, a value that is not an object, nesting deeper than MAX_DEPTH and a lone surrogate in
any key or string ("\\ud800" is valid JSON but no UTF-8 writer accepts it) each make the row a RowIssue naming
the line and the top-level key, so every consumer skips and reports it instead of failing on write.

Rows are parsed with orjson, about twice as fast as json. orjson refuses some text json accepts (a lone
surrogate, NaN, 1e400) and reads integers beyond 64 bits as floats, so a line (or array) that orjson refuses,
that is not an object, that nests deeply or that holds such a float is parsed again with json: every row and
every issue is exactly what json alone gives (tests/data/test_fast_rows.py).
"""

import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from videokr.errors import DataError
from videokr.records import RowError, RowIssue, Sample, json_type

Row = dict[str, Any]
BOM = b"\xef\xbb\xbf"
# Corpus rows nest three levels at most; far deeper values are garbage, and would overflow the stack further on.
MAX_DEPTH = 64
# json.loads accepts an unpaired "\ud800" escape, but no UTF-8 writer (json output, parquet) accepts the result.
SURROGATE_RE = re.compile("[\ud800-\udfff]")
# orjson reads an integer outside [-2**63, 2**64) as a float; json keeps it an int.
_WIDEST_INT = float(2**63)


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
    return head.lstrip(BOM + b" \t\r\n")[:1]


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _value_problem(value: Any) -> str | None:
    """Why a parsed value cannot be row data: nesting past MAX_DEPTH or a lone surrogate in any string.

    Iterative, so that no nesting json accepted can overflow the stack here.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and SURROGATE_RE.search(item):
                return "not valid Unicode: lone surrogate"
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels"
            children = [*item, *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _check_object(line: int, value: Any) -> Row | RowIssue:
    if not isinstance(value, dict):
        return RowIssue(line, "row", f"expected a JSON object, got {json_type(value)}")
    for key, item in value.items():
        problem = _value_problem(key) or _value_problem(item)
        if problem:
            return RowIssue(line, _escaped(key), problem)
    return value


def _needs_json(value: dict[str, Any] | list[Any]) -> bool:
    """Whether an orjson value may differ from json's or hold an issue: deep nesting or a float for a wide int.

    Conservative (the top container counts as level 1): json then decides. Strings need no check, as orjson
    never yields a lone surrogate.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is float and abs(child) >= _WIDEST_INT and child.is_integer():
                return True
    return False


def _parse_line(number: int, raw: bytes) -> Row | RowIssue:
    # A BOM opens a file saved by some editors (or each part of files joined with cat): never JSON, so dropped.
    try:
        value = orjson.loads(raw.removeprefix(BOM))
    except orjson.JSONDecodeError:
        return _parse_line_json(number, raw)
    if type(value) is dict and not _needs_json(value):
        return value
    return _parse_line_json(number, raw)


def _parse_line_json(number: int, raw: bytes) -> Row | RowIssue:
    try:
        text = raw.removeprefix(BOM).decode("utf-8")  # decoding first skips json's own encoding sniffing
    except UnicodeDecodeError as exc:
        return RowIssue(number, "json", f"not valid UTF-8: {exc.reason} at byte {exc.start}")
    try:
        value = json.loads(text)
    except ValueError as exc:
        return RowIssue(number, "json", f"invalid JSON: {exc}")
    except RecursionError:
        return RowIssue(number, "json", "invalid JSON: nested too deeply")
    return _check_object(number, value)


def _iter_jsonl(handle: IO[bytes], bar: tqdm | None) -> Iterator[tuple[int, Row | RowIssue]]:
    for number, raw in enumerate(handle, start=1):
        if bar is not None:
            bar.update(len(raw))
        if not raw.isspace():  # CRLF endings and blank lines are whitespace to json
            yield number, _parse_line(number, raw)


def _iter_array(handle: IO[bytes], bar: tqdm | None) -> Iterator[tuple[int, Row | RowIssue]]:
    data = handle.read()
    if bar is not None:
        bar.update(len(data))
    try:
        values = orjson.loads(data.removeprefix(BOM))
    except orjson.JSONDecodeError:
        values = None
    if type(values) is list and all(type(value) is dict and not _needs_json(value) for value in values):
        yield from enumerate(values, start=1)  # "line" is the 1-based position of the element
        return
    del values  # freed before json parses the whole array again
    yield from _iter_array_json(data)


def _iter_array_json(data: bytes) -> Iterator[tuple[int, Row | RowIssue]]:
    try:
        values = json.loads(data)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        yield line, RowIssue(line, "json", f"invalid JSON array: {exc}")
        return
    except RecursionError:
        yield 1, RowIssue(1, "json", "invalid JSON array: nested too deeply")
        return
    if not isinstance(values, list):
        yield 1, RowIssue(1, "json", "expected a JSON array of objects or JSON lines")
        return
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
