"""The orjson row path gives exactly what the standard json module gives: the same rows and issues, the same bytes.

A varied corpus (every alias, dict / list / string options, both problem types, unicode, control characters, wide
integers, NaN, bad rows) is read and converted by the real code and by a slow reference on the standard json
module, the way videokr read and wrote before orjson.
"""

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from videokr.cli import main
from videokr.data.read import MAX_DEPTH, _iter_array_json, _parse_line_json, read_rows
from videokr.data.sft import SftEntry
from videokr.prompts import render_prompt, render_sft_target
from videokr.records import RowError, Sample

TEXTS = [
    "What colour is the flame?",
    "é ü 中文 🔥 ünïcödé",
    'a "quote", a \\ backslash and a / slash',
    "tab\tnew\nline\r\n",
    "controls \x00 \x01 \x1f \x7f \x85",
    "separators \u2028 \u2029 and \ufeff",
    "İstanbul K\u212a",
    "  padded  ",
    "Options:\nA. inline\nB. list",
]
THINKS = [
    "<think>Red flame means lithium.</think>",
    "<THINK> upper </Think>",
    "<think>İ dotted</think>",
    "<think>a</think> b </think>",
    "no tags at all",
    "<think>İ</THINK> tail",
    "",
]
SOLUTIONS: list[Any] = ["<answer>B</answer>", "B", " <ANSWER> Paris </ANSWER> ", 0, 2.5, 2**70, "é"]
TYPES: list[Any] = ["multiple choice", "Multiple-Choice", "MCQ", "open-ended", "free form", "numerical", "essay", ""]
VIDEOS: list[Any] = ["./videos_0001/a.mp4", "/abs/b.mp4", "v//x/../c.mp4", "Videos/d.mp4", "vidéo 🔥.mp4"]
EXTRAS: list[Any] = [{"a": [1, 2.0, None, True]}, 2**70, -(2**63) - 1, float("nan"), float("inf"), -0.0, 1e300]


def _options(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    labels = ["A. one", "B. twö", "C. 3", "D.  four "]
    if kind == 0:
        return labels
    if kind == 1:
        return dict(rng.sample([("B", "two"), ("A", "one"), ("C", "三"), ("d", 4)], 4))
    if kind == 2:
        return "A. one\n\n B. two \r\nC. three"
    if kind == 3:
        return ["A. x", " ", 7, 2.5]
    return [] if kind == 4 else None


def _video(rng: random.Random) -> tuple[str, Any]:
    path = rng.choice(VIDEOS)
    key = rng.choice(["video_path", "videos", "video", "video_file", "path", "file_name"])
    if key != "videos":
        return key, path
    return key, rng.choice([[path], [{"video": path}], [{"path": path}], ["", path]])


def varied_row(rng: random.Random) -> dict[str, Any]:
    """One corpus row with random aliases, value types and key order."""
    row: dict[str, Any] = {
        rng.choice(["question", "prompt", "problem"]): rng.choice(["", "<video>", "<VIDEO> "]) + rng.choice(TEXTS),
        rng.choice(["solution", "answer", "correct_answer", "ground_truth"]): rng.choice(SOLUTIONS),
        rng.choice(["think", "process"]): rng.choice(THINKS),
        rng.choice(["problem_id", "id"]): rng.choice(["p1", 17, 2**70, "ïd"]),
    }
    if rng.random() < 0.3:
        row["answer"], row["ground_truth"] = "", "C"  # an empty alias is skipped for the next one
    if (options := _options(rng)) is not None:
        row[rng.choice(["options", "option"])] = options
    if rng.random() < 0.8:
        row[rng.choice(["problem_type", "question_type"])] = rng.choice(TYPES)
    if rng.random() < 0.95:
        key, value = _video(rng)
        row[key] = value
    for key in ("subject", "source", "dataset", "skill", "discipline", "note"):
        if rng.random() < 0.3:
            row[key] = rng.choice(EXTRAS) if key == "note" else rng.choice(TEXTS)
    return dict(rng.sample(list(row.items()), len(row)))


BAD_LINES = [
    "{not json",
    "[1, 2]",
    "null",
    '{"question": "Q?", "solution": "B", "think": "t", "video_path": "v.mp4", "note": NaN}',
    '{"question": "Q?", "solution": "B", "think": "t\\ud800", "video_path": "v.mp4"}',
    '{"question": {"text": "Q?"}, "solution": "B", "think": "t", "video_path": "v.mp4"}',
    '{"question": "Q?", "solution": 1e400, "think": "t", "video_path": "v.mp4"}',
    '{"question": "Q?", "solution": "B", "think": "t", "video_path": "v.mp4", "x": ' + "[" * 70 + "]" * 70 + "}",
    "   ",
]


def write_corpus(path: Path, rows: int, seed: int = 0) -> Path:
    """`rows` varied rows as JSON lines (ASCII-escaped or not, some CRLF), with a bad line every 50 rows."""
    rng = random.Random(seed)
    lines = []
    for index in range(rows):
        row = varied_row(rng)
        lines.append(json.dumps(row, ensure_ascii=rng.random() < 0.5) + rng.choice(["", "\r"]))
        if index % 50 == 49:
            lines.append(rng.choice(BAD_LINES))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _nesting(value: Any) -> int:
    if isinstance(value, dict | list):
        return 1 + max(map(_nesting, value.values() if isinstance(value, dict) else value), default=0)
    return 0


def _reference_sample(row: Any) -> Sample | None:
    """A usable SFT sample from a json-parsed row, else None (what prepare-sft skips)."""
    if not isinstance(row, dict) or _nesting(row) > MAX_DEPTH + 1:
        return None
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")  # a lone surrogate cannot be written
        sample = Sample.from_raw(row)
    except (UnicodeEncodeError, RowError):
        return None
    return sample if sample.think and sample.video_path else None


def _orjson_reads_it_alike(value: Any) -> bool:
    # no NaN / Infinity, no integer beyond 64 bits: a JSON array of such rows takes the orjson path
    try:
        return bool(orjson.loads(json.dumps(value)) == value)
    except orjson.JSONDecodeError:
        return False


def _reference_values(data: bytes) -> list[tuple[int, Any]]:
    if data.lstrip()[:1] == b"[":
        return list(enumerate(json.loads(data), start=1))
    values = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            try:
                values.append((number, json.loads(line)))
            except ValueError:
                values.append((number, None))
    return values


def reference_sft(path: Path) -> tuple[bytes, list[int]]:
    """The SFT file as videokr wrote it on the standard json module, and the skipped lines."""
    entries, skipped = [], []
    for number, value in _reference_values(path.read_bytes()):
        sample = _reference_sample(value)
        if sample is None:
            skipped.append(number)
            continue
        entry = {
            "messages": [
                {"role": "user", "content": render_prompt(sample, "sft")},
                {"role": "assistant", "content": render_sft_target(sample)},
            ],
            "videos": [sample.video_path],
        }
        entries.append(json.dumps(entry, ensure_ascii=False))
    return ("[" + ",".join("\n" + entry for entry in entries) + "\n]\n").encode("utf-8"), skipped


def _as_array(path: Path, keep: Callable[[Any], bool]) -> Path:
    values = [value for _, value in _reference_values(path.read_bytes()) if keep(value)]
    array = path.with_suffix(".json")
    text = json.dumps(values, ensure_ascii=False, indent=1)
    try:
        array.write_bytes(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: written as its escape
        array.write_text(json.dumps(values, indent=1), encoding="ascii")
    return array


LAYOUTS = [
    pytest.param(None, id="json-lines"),
    pytest.param(lambda value: _reference_sample(value) and _orjson_reads_it_alike(value), id="array-orjson-path"),
    pytest.param(lambda value: True, id="array-json-path"),  # NaN, 2**70 and bad elements: json reads it all
]


@pytest.mark.parametrize("keep", LAYOUTS)
def test_cli_prepare_sft_output_is_byte_identical_to_the_json_module_reference(
    tmp_path: Path, keep: Callable[[Any], bool] | None
) -> None:
    src = write_corpus(tmp_path / "rows.jsonl", 3000)
    if keep is not None:
        src = _as_array(src, keep)
    expected, skipped = reference_sft(src)
    assert main(["data", "prepare-sft", "--input", str(src), "--output-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "videokr_train.json").read_bytes() == expected
    report = (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()
    assert [json.loads(line)["line"] for line in report] == skipped
    assert expected.count(b'"videos": [') > 1500


@pytest.mark.parametrize("keep", LAYOUTS)
def test_read_rows_gives_the_rows_and_issues_of_the_json_module(
    tmp_path: Path, keep: Callable[[Any], bool] | None
) -> None:
    src = write_corpus(tmp_path / "rows.jsonl", 3000, seed=1)
    if keep is None:
        with src.open("rb") as handle:
            raw_lines = [(number, raw) for number, raw in enumerate(handle, start=1) if raw.strip()]
        expected = [(number, _parse_line_json(number, raw)) for number, raw in raw_lines]
    else:
        src = _as_array(src, keep)
        expected = list(_iter_array_json(src.read_bytes()))
    # repr: NaN is never equal to itself, and 2**70 must stay an int (orjson alone would read a float)
    assert repr(list(read_rows(src))) == repr(expected)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("".join(map(chr, range(0xD800))), id="bmp-below-surrogates"),
        pytest.param("".join(map(chr, range(0xE000, 0x110000))), id="above-surrogates"),
        pytest.param('"\\/\b\f\n\r\t\x00\x7f\u2028', id="escapes"),
    ],
)
def test_sft_entry_to_json_is_json_dumps_ensure_ascii_false(text: str) -> None:
    entry = SftEntry("<video>" + text, text[::-1], text[:100])
    assert entry.to_json() == json.dumps(entry.to_dict(), ensure_ascii=False).encode("utf-8")
