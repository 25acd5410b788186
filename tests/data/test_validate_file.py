"""videokr.data.validate: every problem as (line, field, message); its command line is in tests/cli/test_data.py."""

import json
from pathlib import Path

import pytest

from videokr.data.validate import validate_file

GOOD = {
    "problem_id": "p0",
    "problem_type": "multiple choice",
    "question": "Q?",
    "options": ["A. x", "B. y"],
    "solution": "<answer>B</answer>",
    "video_path": "videos_0001/a.mp4",
}


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("change", "field", "severity", "message"),
    [
        pytest.param({"question": None}, "question", "error", "missing question", id="no-question"),
        pytest.param({"solution": ""}, "solution", "error", "missing or empty answer", id="no-answer"),
        pytest.param(
            {"solution": "C"}, "solution", "error", "not one of the option letters AB", id="mc-answer-not-option"
        ),
        pytest.param(
            {"solution": "Sodium"}, "solution", "error", "not one of the option letters", id="mc-answer-text"
        ),
        pytest.param({"options": 7}, "options", "error", "malformed options", id="options-number"),
        pytest.param(
            {"options": ["Sodium", "Copper"]}, "options", "error", "no letter label", id="options-unlabelled"
        ),
        pytest.param({"options": ["A. x", "A. y"]}, "options", "error", "duplicate option letters", id="options-dup"),
        pytest.param({"options": None}, "options", "error", "without options", id="mc-without-options"),
        pytest.param({"problem_type": "essay"}, "problem_type", "warning", "unknown problem_type", id="unknown-type"),
        pytest.param({"video_path": "/data/a.mp4"}, "video_path", "error", "absolute video path", id="absolute"),
        pytest.param({"video_path": "../../a.mp4"}, "video_path", "error", "outside the video root", id="escaping"),
        pytest.param({"video_path": None}, "video_path", "error", "missing video path", id="no-video"),
        pytest.param({"think": "<think></think>"}, "think", "error", "empty think", id="empty-think"),
    ],
)
def test_validate_file_reports_row_problem(
    tmp_path: Path, change: dict, field: str, severity: str, message: str
) -> None:
    bad = {k: v for k, v in {**GOOD, "problem_id": "p1", **change}.items() if v is not None}
    result = validate_file(_write(tmp_path / "in.jsonl", [GOOD, bad]), progress=False)
    found = [(i.line, i.field, i.severity) for i in result.issues if message in i.message]
    assert found == [(2, field, severity)], result.issues
    assert result.ok is (severity == "warning")


def test_validate_file_reports_file_level_problems(tmp_path: Path) -> None:
    rows: list[object] = [
        {**GOOD, "think": "because"},
        "{broken",
        {**GOOD, "problem_id": "p2", "process": "ok"},
        {**GOOD, "problem_id": "p0"},  # duplicate id, and no think in a CoT file
    ]
    result = validate_file(_write(tmp_path / "in.jsonl", rows), progress=False)
    summary = [(i.line, i.field) for i in result.issues]
    assert summary == [(2, "json"), (4, "problem_id"), (4, "think")]
    assert "first on line 1" in result.issues[1].message
    assert (result.rows, result.errors, result.warnings) == (4, 3, 0)


def test_validate_file_clean_file_has_no_issues(tmp_path: Path) -> None:
    result = validate_file(_write(tmp_path / "in.jsonl", [GOOD, {**GOOD, "problem_id": "p1"}]), progress=False)
    assert result.issues == () and result.ok
