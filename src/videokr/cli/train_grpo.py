"""`videokr train grpo CONFIG [key=value ...] [--dry-run]`: GRPO with verl's main_ppo (vLLM on GPU, HF on CPU)."""

import argparse
import sys
from pathlib import Path
from typing import Any

from videokr.cli.common import add_training_arguments


def register_verbs(verbs: Any) -> None:
    """Add the `grpo` verb to the `train` noun (called by videokr.cli.train)."""
    grpo = verbs.add_parser(
        "grpo",
        help="GRPO with verl from a recipe's model + grpo sections",
        description="Render verl's Hydra overrides from the recipe and run `python -m verl.trainer.main_ppo` in the "
        "rl environment; without a GPU the same trainer runs with videokr's CPU platform and HF rollout. Re-running "
        "resumes from the last checkpoint. Example: videokr train grpo qwen3vl "
        "grpo.data_dir=runs/x/grpo/data grpo.total_training_steps=2 --dry-run",
    )
    add_training_arguments(grpo, "grpo", "rl", "grpo.lr=3e-6")
    grpo.set_defaults(func=_grpo)


def resolve_model(recipe: Any) -> str:
    """grpo.model_path, else the SFT checkpoint when one was written, else the recipe's model.path."""
    if recipe.grpo.model_path:
        return str(recipe.grpo.model_path)
    sft_dir = Path(recipe.sft.output_dir)
    if (sft_dir / "config.json").is_file():
        return str(sft_dir.absolute())
    return str(recipe.model.path)


def _grpo(args: argparse.Namespace) -> int:
    from videokr.config import load_recipe
    from videokr.engines.base import format_plan
    from videokr.engines.verl import read_latest_step, train_grpo
    from videokr.engines.verl_metrics import collect_metrics, summarize

    recipe = load_recipe(args.config, args.overrides)
    cfg = recipe.grpo
    stage_dir = args.stage_dir or Path(cfg.output_dir).absolute().parent
    plan, code = train_grpo(
        cfg,
        stage_dir=stage_dir,
        model_path=resolve_model(recipe),
        family=recipe.model.family,
        python=args.python,
        dry_run=args.dry_run,
    )
    if args.dry_run:
        print(format_plan(plan), end="")
        return 0
    if code != 0:
        print(f"grpo failed with exit code {code}: see {Path(stage_dir) / 'engine.log'}", file=sys.stderr)
        return code
    summary = summarize(collect_metrics(stage_dir))
    reward = ""
    if "reward_first" in summary:
        reward = f"; reward {summary['reward_first']:.3f} -> {summary['reward_last']:.3f}"
    step = read_latest_step(cfg.output_dir)
    print(f"grpo finished at step {step}: checkpoints in {cfg.output_dir}{reward}")
    print(
        f"metrics: {Path(stage_dir) / 'metrics.jsonl'} ({summary['steps']} steps); log: {Path(stage_dir) / 'engine.log'}"
    )
    return 0
