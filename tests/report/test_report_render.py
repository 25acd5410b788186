import json

import pytest

from videokr.report import render_comparison, render_report, write_comparison, write_report


def _metrics(accuracy, skipped=0, failed=0):
    group = {
        "accuracy": accuracy,
        "n": 10,
        "n_scored": 10 - skipped - failed,
        "n_correct": 0,
        "n_skipped": skipped,
        "n_judge_failed": failed,
    }
    return {
        **group,
        "mode": "rule",
        "style": "fixed",
        "judge": None,
        "by_problem_type": {"multiple choice": group, "open-ended": {**group, "accuracy": None}},
        "by_subject": {"Chemistry": group},
    }


def test_render_report_states_skipped_and_failed_rows():
    text = render_report(_metrics(45.0, skipped=3, failed=2), "Run")
    assert text.startswith("# Run")
    assert "**3 rows skipped**" in text and "**2 rows without a judge verdict**" in text
    assert "| all | 45.0 | 10 | 5 | 3 | 2 |" in text
    assert "| open-ended | - |" in text and "## By subject" in text and "## By skill" not in text


def test_render_comparison_puts_models_side_by_side():
    text = render_comparison({"base": _metrics(39.0), "sft": _metrics(42.5), "grpo": _metrics(45.3)})
    assert "| group | base | sft | grpo |" in text
    assert "| all | 39.0 (10/10) | 42.5 (10/10) | 45.3 (10/10) |" in text


@pytest.mark.parametrize(
    "models", [pytest.param(["only"], id="one"), pytest.param(["base", "sft", "grpo"], id="three")]
)
def test_write_comparison_writes_metrics_report_and_pngs(tmp_path, models):
    metrics = {name: _metrics(30.0 + i) for i, name in enumerate(models)}
    files = write_comparison(metrics, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    pngs = sorted(p.name for p in files if p.suffix == ".png")
    assert pngs == ["accuracy_by_problem_type.png", "accuracy_by_subject.png", "accuracy_overall.png"]
    for path in files:
        assert path.exists()
        if path.suffix == ".png":
            assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 1000


def test_write_report_without_plots_writes_no_png(tmp_path):
    files = write_report(_metrics(50.0), tmp_path, plots=False)
    assert {p.name for p in files} == {"metrics.json", "report.md"}
    assert not (tmp_path / "plots").exists()
