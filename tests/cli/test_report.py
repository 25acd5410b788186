"""`videokr report RECIPE_OR_RUN_DIR`: report.md, metrics.json and plots of the evaluations under a run."""

import json
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.scoring import score_samples


def _evaluated(run: Path, name: str, predictions: str) -> None:
    """RUN/eval/NAME/scores, as the eval stage leaves it, from one prediction letter per row (the answer is A)."""
    row = {
        "problem_type": "multiple choice",
        "question": "Which?",
        "options": ["A. sodium", "B. copper"],
        "answer": "A",
    }
    rows = run / f"{name}.jsonl"
    rows.parent.mkdir(parents=True, exist_ok=True)
    rows.write_text(
        "".join(
            json.dumps({**row, "problem_id": f"q{i}", "prediction": f"<answer>{letter}</answer>"}) + "\n"
            for i, letter in enumerate(predictions)
        )
    )
    score_samples(rows, run / "eval" / name / "scores", plots=False)


def test_report_of_a_run_prints_its_files_and_then_reads_the_run_dir_as_the_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    _evaluated(run, "base", "BBAB")
    _evaluated(run, "grpo", "AAAB")
    assert main(["report", "qwen2_5vl", f"output_dir={run}"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [str(run / "metrics.json"), str(run / "report.md")]
    assert all(Path(line).is_file() for line in printed)
    metrics = json.loads((run / "metrics.json").read_text())
    assert {name: metrics[name]["accuracy"] for name in metrics} == {"base": 25.0, "grpo": 75.0}
    assert main(["report", str(run)]) == 0
    assert "report: unchanged since its last run" in capsys.readouterr().out
    assert main(["report", str(run), "--force"]) == 0
    assert "unchanged" not in capsys.readouterr().out


def test_report_without_evaluations_names_the_missing_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "qwen2_5vl", f"output_dir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert "stage report cannot start" in err and "videokr run --until eval" in err
    assert not (tmp_path / "report.md").exists()
