"""The report of a whole run: each evaluated model's metrics side by side, and the GRPO training curves."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.errors import ConfigError
from videokr.io import read_jsonl, write_json
from videokr.report import write_comparison
from videokr.report.training import write_training_plots


def write_run_report(run_dir: Path, title: str = "videokr run") -> list[Path]:
    """Gather each evaluated model's metrics into RUN/metrics.json, RUN/report.md and RUN/plots/."""
    eval_dir = run_dir / "eval"
    metrics_by_model = {}
    for path in sorted(eval_dir.glob("*/scores/metrics.json")):
        metrics_by_model[path.parent.parent.name] = json.loads(path.read_text())
    if not metrics_by_model:
        raise ConfigError(f"no evaluation results under {eval_dir}: run the eval stage first")
    # "n" is the number of rows scored: without a judge, open-ended rows are skipped and it counts MC rows only.
    ordered = {name: metrics_by_model[name] for name in _order(metrics_by_model)}
    written = write_comparison(ordered, run_dir, title=title)
    # At the run level "n" is what the accuracy is computed over (the scored rows; without a judge, the
    # multiple-choice rows); each model's own breakdown keeps its row count as "n_rows".
    summary = {name: {**m, "n": m.get("n_scored"), "n_rows": m.get("n")} for name, m in ordered.items()}
    write_json(run_dir / "metrics.json", summary)
    steps = run_dir / "grpo" / "metrics.jsonl"
    if steps.is_file():
        written += write_training_plots(list(read_jsonl(steps)), run_dir / "plots")
    return written


def _order(names: Mapping[str, Any]) -> list[str]:
    """base, sft, grpo first (the order of the recipe), then controls and other names alphabetically."""
    preferred = ["base", "sft", "grpo"]
    return sorted(names, key=lambda n: (preferred.index(n) if n in preferred else len(preferred), n))
