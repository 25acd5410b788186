"""Training curves of a GRPO run (verl's per-step metrics.jsonl): reward, KL, entropy, response length."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.deps import require
from videokr.io import atomic_open

REWARD = "critic/score/mean"  # verl 0.9.1: the mean reward of a step's rollouts
# (verl 0.9.1 metric name, panel title); a panel is drawn when any step logged the metric.
CURVES = (
    (REWARD, "reward (score mean)"),
    ("actor/kl_loss", "KL loss"),
    ("actor/entropy", "entropy"),
    ("response_length/mean", "response length (tokens)"),
)


def curve(steps: Sequence[Mapping[str, Any]], metric: str) -> tuple[list[int], list[float]]:
    """The (step, value) pairs of `metric`, in step order, skipping steps that did not log it.

    >>> curve([{"step": 2, "m": 0.5}, {"step": 1, "m": 0.25}, {"step": 3}], "m")
    ([1, 2], [0.25, 0.5])
    """
    pairs = sorted((int(row["step"]), float(row[metric])) for row in steps if metric in row and "step" in row)
    return [s for s, _ in pairs], [v for _, v in pairs]


def write_training_plots(steps: Sequence[Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """DIR/grpo_training.png with one panel per logged curve; nothing when no step logged any of them."""
    panels = [(title, *curve(steps, metric)) for metric, title in CURVES]
    panels = [panel for panel in panels if panel[1]]
    if not panels:
        return []
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), squeeze=False)
    try:
        for ax, (title, xs, ys) in zip(axes[0], panels, strict=True):
            ax.plot(xs, ys, marker="o", markersize=3)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("step")
        fig.tight_layout()
        path = Path(out_dir) / "grpo_training.png"
        with atomic_open(path, "wb", encoding=None) as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)
    return [path]
