"""`videokr data validate|prepare-sft|prepare-rl|extract`: summaries, reports and exit codes.

The CLI tests that need their module's corpus builders stay next to them: `data check` (tests/data/test_check.py),
bad input through every command (test_bad_input.py), byte-identical output (test_fast_rows.py) and damaged
archives (test_archives.py).
"""

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from videokr.cli import main


def _row(i: int = 0, **change: Any) -> dict[str, Any]:
    row = {
        "problem_id": f"p{i}",
        "problem_type": "multiple choice",
        "question": "Q?",
        "options": ["A. x", "B. y"],
        "solution": "<answer>B</answer>",
        "think": "<think>Because.</think>",
        "video_path": f"videos_0001/v{i}.mp4",
    }
    return {k: v for k, v in {**row, **change}.items() if v is not None}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_validate_exit_codes_summary_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [_row(0)] + [_row(i, solution="Z") for i in range(1, 6)]
    report = tmp_path / "issues.jsonl"
    code = main(
        ["data", "validate", str(_write(tmp_path / "in.jsonl", rows)), "--max-issues", "2", "--report", str(report)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "6 rows, 5 errors, 0 warnings" in out and "... 3 more issues" in out
    assert out.count("error: solution") == 2
    assert [json.loads(x)["line"] for x in report.read_text().splitlines()] == [2, 3, 4, 5, 6]


def test_validate_warnings_only_exit_zero(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", [_row(problem_type="quiz")])
    assert main(["data", "validate", str(path)]) == 0


def test_validate_missing_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "validate", str(tmp_path / "nope.jsonl")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_prepare_sft_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "cot.jsonl", [_row(0), _row(1, think="")])
    assert main(["data", "prepare-sft", "--input", str(src), "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "wrote 1 samples" in out and "skipped 1 rows" in out


def test_prepare_sft_unwritable_output_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    src = _write(tmp_path / "cot.jsonl", [_row()])
    assert main(["data", "prepare-sft", "--input", str(src), "--output-dir", str(blocker / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot write to")


def test_prepare_sft_with_a_recipe_is_the_run_stage_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "cot.jsonl", [_row(0), _row(1)])
    run = tmp_path / "run"
    argv = ["data", "prepare-sft", "qwen2_5vl", f"output_dir={run}", f"data.sft_file={src}"]
    assert main(argv) == 0
    entries = json.loads((run / "prepare-sft" / "data" / "videokr_train.json").read_text())
    assert len(entries) == 2
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["prepare-sft"]["status"] == "done"
    assert "prepare-sft: dataset_dir" in capsys.readouterr().out
    assert main(argv) == 0  # the same stage, unchanged: skipped, as `videokr run` would
    assert "unchanged" in capsys.readouterr().out
    assert main(["data", "prepare-sft", "--input", str(src)]) == 1  # the converter form needs both flags
    assert "--output-dir" in capsys.readouterr().err


def test_prepare_rl_no_length_filter_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "rl.jsonl", [_row(i) for i in range(5)] + [_row(9, video_path=None)])
    argv = ["data", "prepare-rl", "--input", str(src), "--output-dir", str(tmp_path / "out")]
    code = main([*argv, "--video-root", str(tmp_path), "--val-size", "2", "--no-length-filter", "--style", "unified"])
    out = capsys.readouterr().out
    assert code == 0
    assert "wrote 3 rows" in out and "and 2 to" in out and "no_video" in out
    first = pq.read_table(tmp_path / "out" / "train.parquet").to_pylist()[0]
    assert first["prompt"][0]["content"].startswith("<video>\nQ")


def test_extract_refuses_escaping_member(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "v.tar", "w") as tar:
        for name in ("videos_0000/a.mp4", "../escape.mp4"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    code = main(["data", "extract", "--archives", str(src), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "refused v.tar: '../escape.mp4'" in out
    assert (tmp_path / "out/videos_0000/a.mp4").read_bytes() == b"abc"
    assert not (tmp_path / "escape.mp4").exists()
