"""`videokr train sft CONFIG [key=value ...] [--dry-run]`: full SFT with LLaMA-Factory (GRPO adds `train grpo`)."""

import argparse
import sys
from pathlib import Path
from typing import Any

from videokr.cli import train_grpo
from videokr.cli.common import add_noun, add_training_arguments


def register(subparsers: Any) -> None:
    """Add `videokr train ...`."""
    verbs = add_noun(subparsers, "train", "train a model: sft (LLaMA-Factory), grpo (verl)")
    sft = verbs.add_parser(
        "sft",
        help="full SFT with LLaMA-Factory from a recipe's model + sft sections",
        description="Render LLaMA-Factory's YAML (and DeepSpeed JSON on GPU) from the recipe and run "
        "`llamafactory-cli train` in the sft environment. Example: videokr train sft "
        "qwen2_5vl sft.dataset_dir=runs/x/sft/data sft.max_steps=10 --dry-run",
    )
    add_training_arguments(sft, "sft", "sft", "sft.learning_rate=2e-5")
    sft.set_defaults(func=_sft)
    train_grpo.register_verbs(verbs)


def _sft(args: argparse.Namespace) -> int:
    from videokr.config import load_recipe
    from videokr.engines.base import format_plan
    from videokr.engines.llamafactory import train_sft

    recipe = load_recipe(args.config, args.overrides)
    stage_dir = args.stage_dir or Path(recipe.sft.output_dir).absolute().parent
    plan, code = train_sft(
        recipe.sft,
        stage_dir=stage_dir,
        model_path=recipe.model.path,
        family=recipe.model.family,
        python=args.python,
        dry_run=args.dry_run,
    )
    if args.dry_run:
        print(format_plan(plan), end="")
        return 0
    if code == 0:
        print(f"sft finished: checkpoint in {recipe.sft.output_dir}; log and command.sh in {stage_dir}")
    else:
        print(f"sft failed with exit code {code}: see {Path(stage_dir) / 'engine.log'}", file=sys.stderr)
    return code
