"""Bar plots of accuracy, several models side by side (matplotlib, Agg backend, imported at the point of use)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.deps import require
from videokr.io import atomic_open
from videokr.report.markdown import BREAKDOWNS


def _groups(metrics_by_model: Mapping[str, Mapping[str, Any]], field: str) -> list[str]:
    names: list[str] = []
    for metrics in metrics_by_model.values():
        names += [name for name in metrics.get(f"by_{field}", {}) if name not in names]
    return names


def plot_accuracy(
    metrics_by_model: Mapping[str, Mapping[str, Any]], groups: list[str], field: str | None, path: Path, title: str
) -> Path:
    """One grouped bar chart: a cluster per group, a bar per model; unscored groups are drawn at 0, labelled '-'."""
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot")
    models = list(metrics_by_model)
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) * max(1, len(models)) ** 0.5 + 2), 3.6))
    try:
        for index, model in enumerate(models):
            metrics = metrics_by_model[model]
            values = [
                (metrics if field is None else metrics.get(f"by_{field}", {}).get(g, {})).get("accuracy")
                for g in groups
            ]
            xs = [i + (index - (len(models) - 1) / 2) * width for i in range(len(groups))]
            bars = ax.bar(xs, [v or 0.0 for v in values], width=width, label=model)
            ax.bar_label(bars, labels=["-" if v is None else f"{v:.1f}" for v in values], fontsize=7)
        ax.set_xticks(
            range(len(groups)),
            groups,
            rotation=20 if len(groups) > 4 else 0,
            ha="right" if len(groups) > 4 else "center",
        )
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 105)
        ax.set_title(title)
        if len(models) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        with atomic_open(path, "wb", encoding=None) as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def write_plots(metrics_by_model: Mapping[str, Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """accuracy_overall.png and accuracy_by_<field>.png for each breakdown present; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_accuracy(metrics_by_model, ["all"], None, out / "accuracy_overall.png", "Accuracy")]
    for field in BREAKDOWNS:
        groups = _groups(metrics_by_model, field)
        if groups:
            title = f"Accuracy by {field.replace('_', ' ')}"
            paths.append(plot_accuracy(metrics_by_model, groups, field, out / f"accuracy_by_{field}.png", title))
    return paths
