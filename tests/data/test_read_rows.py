"""videokr.data.read: streaming JSON lines and JSON arrays, with per-row issues instead of exceptions."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from videokr.data.read import read_rows, read_samples, resolve_video_path
from videokr.errors import DataError
from videokr.records import RowIssue, Sample

GOOD = {"question": "Q?", "solution": "A", "video_path": "a.mp4"}


def test_read_rows_jsonl_reports_bad_lines_and_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = [json.dumps(GOOD), "", "{not json", "[1, 2]", b"\xff\xfe".decode("latin-1"), json.dumps(GOOD)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = list(read_rows(path))
    assert [line for line, _ in results] == [1, 3, 4, 5, 6]
    assert isinstance(results[0][1], dict) and isinstance(results[-1][1], dict)
    issues = [row for _, row in results if isinstance(row, RowIssue)]
    assert [(i.line, i.field) for i in issues] == [(3, "json"), (4, "row"), (5, "json")]


def test_read_rows_accepts_json_array_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_bytes(b"\xef\xbb\xbf  " + json.dumps([GOOD, "oops", GOOD]).encode())
    results = list(read_rows(path))
    assert [line for line, _ in results] == [1, 2, 3]
    assert isinstance(results[1][1], RowIssue) and results[2][1] == GOOD


def test_read_rows_json_array_reports_bad_elements_by_position(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    deep: object = "x"
    for _ in range(100):
        deep = [deep]
    elements = [GOOD, {**GOOD, "question": "Q\ud800?"}, None, {**GOOD, "extra": deep}, GOOD]
    path.write_text(json.dumps(elements))
    results = list(read_rows(path))
    issues = [(row.line, row.field, row.message) for _, row in results if isinstance(row, RowIssue)]
    assert issues == [
        (2, "question", "not valid Unicode: lone surrogate"),
        (3, "row", "expected a JSON object, got null"),
        (4, "extra", "nested deeper than 64 levels"),
    ]
    assert results[4] == (5, GOOD)


def test_read_rows_too_deep_json_array_is_one_issue(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert [(line, row.field) for line, row in read_rows(path) if isinstance(row, RowIssue)] == [(1, "json")]


def test_read_rows_broken_json_array_is_one_issue(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[{"question": "Q?"},\n{"broken": ]')
    [(line, issue)] = list(read_rows(path))
    assert isinstance(issue, RowIssue) and issue.field == "json" and line == 2


@pytest.mark.parametrize("make", [pytest.param(lambda p: p, id="missing"), pytest.param(lambda p: p.parent, id="dir")])
def test_read_rows_missing_input_raises_data_error(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match=r"rows\.jsonl|is not a file"):
        list(read_rows(make(tmp_path / "rows.jsonl")))


def test_read_samples_yields_samples_and_field_issues(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({"question": "Q?"}) + "\n")
    (_, s1), (_, s2) = list(read_samples(path))
    assert isinstance(s1, Sample) and s1.video_path == "a.mp4"
    assert isinstance(s2, RowIssue) and (s2.line, s2.field) == (2, "solution")


def test_resolve_video_path_prefers_root_then_videos_subdir(tmp_path: Path) -> None:
    (tmp_path / "Videos" / "v").mkdir(parents=True)
    (tmp_path / "Videos" / "v" / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mp4").write_bytes(b"x")
    assert resolve_video_path(tmp_path, "v/a.mp4") == str((tmp_path / "Videos" / "v" / "a.mp4").resolve())
    assert resolve_video_path(tmp_path, "b.mp4") == str((tmp_path / "b.mp4").resolve())
    assert resolve_video_path(tmp_path, "Videos/b.mp4") == str((tmp_path / "b.mp4").resolve())
    assert resolve_video_path(tmp_path, "none.mp4") == str((tmp_path / "none.mp4").resolve())


def test_read_samples_streams_jsonl_in_flat_memory(tmp_path: Path) -> None:
    # A 200 MB file (40K rows of 5 KB): holding it would cost far more than its size; streaming stays flat.
    path = tmp_path / "big.jsonl"
    row = json.dumps({**GOOD, "think": "x" * 5000})
    with path.open("w") as handle:
        for _ in range(40_000):
            handle.write(row + "\n")
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of a big pytest would report pytest's.
    code = (
        "import sys; from videokr.data.read import read_samples\n"
        "n = sum(1 for _ in read_samples(sys.argv[1]))\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print(n, int(hwm.split()[1]) // 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    rows, peak_mb = map(int, out.split())
    assert rows == 40_000
    assert peak_mb < 100, f"peak RSS {peak_mb} MB for a {path.stat().st_size // 2**20} MB file"
