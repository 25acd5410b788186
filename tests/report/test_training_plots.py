"""GRPO training curves from verl's per-step metrics."""

from pathlib import Path

from videokr.report.training import curve, write_training_plots


def test_curve_orders_steps_and_skips_steps_without_the_metric() -> None:
    steps = [{"step": 3, "critic/score/mean": 0.7}, {"step": 1, "critic/score/mean": 0.1}, {"step": 2}]
    assert curve(steps, "critic/score/mean") == ([1, 3], [0.1, 0.7])


def test_training_plot_is_a_png_with_the_logged_panels(tmp_path: Path) -> None:
    steps = [{"step": i, "critic/score/mean": i / 10, "actor/entropy": 1.0 - i / 10} for i in range(1, 5)]
    [path] = write_training_plots(steps, tmp_path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_plot_when_no_step_logged_a_curve(tmp_path: Path) -> None:
    assert write_training_plots([{"step": 1, "other": 2.0}], tmp_path) == []
    assert not list(tmp_path.iterdir())
