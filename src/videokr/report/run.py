"""The report of a whole run: each evaluated model's metrics side by side, and the GRPO training curves."""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.errors import ConfigError
from videokr.io import read_jsonl, write_json
from videokr.report import write_comparison
from videokr.report.training import REWARD, curve, write_training_plots


def read_run_metrics(run_dir: Path) -> dict[str, Any]:
    """What RUN/metrics.json holds: each evaluated model's metrics (recipe order), and `grpo_training` when it ran.

    At the run level "n" is what the accuracy is computed over (the scored rows; without a judge, the
    multiple-choice rows); each model's own breakdown keeps its row count as "n_rows".
    """
    eval_dir = run_dir / "eval"
    by_model = {
        path.parent.parent.name: json.loads(path.read_text()) for path in eval_dir.glob("*/scores/metrics.json")
    }
    if not by_model:
        raise ConfigError(f"no evaluation results under {eval_dir}: run the eval stage first")
    summary: dict[str, Any] = {}
    for name in _order(by_model):
        summary[name] = {**by_model[name], "n": by_model[name].get("n_scored"), "n_rows": by_model[name].get("n")}
    training = grpo_reward_summary(_grpo_steps(run_dir))
    if training:
        summary["grpo_training"] = training
    return summary


def write_run_report(
    run_dir: Path,
    title: str = "videokr run",
    *,
    preface: str = "",
    extra: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
) -> list[Path]:
    """RUN/metrics.json (read_run_metrics, or `summary` when the caller read it, plus `extra`), RUN/report.md
    (`preface` first) and RUN/plots/."""
    summary = dict(summary) if summary is not None else read_run_metrics(run_dir)
    models = {name: value for name, value in summary.items() if name != "grpo_training"}
    # the tables show each model's own breakdown, where "n" counts rows
    tables = {name: {**m, "n": m["n_rows"]} for name, m in models.items()}
    training = summary.get("grpo_training")
    if training:
        preface += (
            f"\n\nGRPO training ({training['steps']} steps): mean rollout reward {training['first_step_reward']:.3f} "
            f"at the first step and {training['last_step_reward']:.3f} at the last; {training['first_steps_mean']:.3f} "
            f"over the first {training['window']} and {training['last_steps_mean']:.3f} over the last "
            f"{training['window']} (plots/grpo_training.png)."
        )
    written = write_comparison(tables, run_dir, title=title, preface=preface)
    write_json(run_dir / "metrics.json", {**summary, **(extra or {})})
    steps = _grpo_steps(run_dir)
    if steps:
        written += write_training_plots(steps, run_dir / "plots")
    return written


def _grpo_steps(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "grpo" / "metrics.jsonl"
    return list(read_jsonl(path)) if path.is_file() else []


def grpo_reward_summary(steps: Sequence[Mapping[str, Any]], window: int = 5) -> dict[str, Any]:
    """The GRPO training reward (verl's critic/score/mean) of the first and last logged steps; {} when none.

    One step's mean is over a few prompts, so the means over the first and last `window` steps (at most half the
    steps each) come with it.

    >>> grpo_reward_summary([{"step": s, "critic/score/mean": s / 10} for s in (4, 1, 3, 2)], window=5)
    {'steps': 4, 'first_step_reward': 0.1, 'last_step_reward': 0.4, 'window': 2, 'first_steps_mean': 0.15, 'last_steps_mean': 0.35}
    """
    xs, ys = curve(steps, REWARD)
    if not xs:
        return {}
    size = max(1, min(window, len(ys) // 2))
    return {
        "steps": xs[-1],
        "first_step_reward": ys[0],
        "last_step_reward": ys[-1],
        "window": size,
        "first_steps_mean": round(sum(ys[:size]) / size, 6),
        "last_steps_mean": round(sum(ys[-size:]) / size, 6),
    }


def _order(names: Mapping[str, Any]) -> list[str]:
    """base, sft, grpo first (the order of the recipe), then controls and other names alphabetically."""
    preferred = ["base", "sft", "grpo"]
    return sorted(names, key=lambda n: (preferred.index(n) if n in preferred else len(preferred), n))
