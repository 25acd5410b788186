"""Reports: report.md, metrics.json and plots/*.png for one model or several side by side."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.io import write_json, write_text
from videokr.report.markdown import render_comparison, render_report
from videokr.report.plots import write_plots

__all__ = ["render_comparison", "render_report", "write_comparison", "write_plots", "write_report"]


def write_report(
    metrics: Mapping[str, Any],
    output_dir: str | Path,
    *,
    title: str = "Evaluation",
    name: str = "model",
    plots: bool = True,
) -> list[Path]:
    """Write DIR/metrics.json, DIR/report.md and DIR/plots/*.png for one model; returns the files written."""
    out = Path(output_dir)
    write_json(out / "metrics.json", dict(metrics))
    write_text(out / "report.md", render_report(metrics, title))
    written = [out / "metrics.json", out / "report.md"]
    return written + (write_plots({name: metrics}, out / "plots") if plots else [])


def write_comparison(
    metrics_by_model: Mapping[str, Mapping[str, Any]],
    output_dir: str | Path,
    *,
    title: str = "Model comparison",
    plots: bool = True,
    preface: str = "",
) -> list[Path]:
    """Write DIR/metrics.json ({model: metrics}), DIR/report.md and side-by-side DIR/plots/*.png."""
    out = Path(output_dir)
    write_json(out / "metrics.json", {name: dict(m) for name, m in metrics_by_model.items()})
    write_text(out / "report.md", render_comparison(metrics_by_model, title, preface))
    written = [out / "metrics.json", out / "report.md"]
    return written + (write_plots(metrics_by_model, out / "plots") if plots else [])
