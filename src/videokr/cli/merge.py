"""`videokr merge RECIPE [key=value ...] [--dry-run]`: the run's verl FSDP checkpoint -> a Hugging Face model.

A one-stage run of the recipe's merge stage (videokr.run.stages.Merge): it reads merge.checkpoint_dir, else the
run's GRPO checkpoints, and writes merge.target_dir, else <output_dir>/merge/hf.
"""

import argparse
from typing import Any

from videokr.cli.common import add_stage_arguments, run_stage_command


def register(subparsers: Any) -> None:
    """Add `videokr merge`."""
    merge = subparsers.add_parser(
        "merge",
        help="merge a verl GRPO checkpoint into a Hugging Face model and check it generates",
        description="Run `python -m verl.model_merger merge --backend fsdp` on global_step_N/actor (the latest, or "
        "merge.step=N), copy the processor files, then load the result and generate from a video prompt "
        "(merge.check_generate=false skips it). RECIPE may be a run directory. Example: videokr merge runs/qwen3vl "
        "merge.step=40 merge.target_dir=runs/qwen3vl/hf",
    )
    add_stage_arguments(merge, "merge.step=40", env="rl")
    merge.set_defaults(func=_merge)


def _merge(args: argparse.Namespace) -> int:
    result = run_stage_command(args, "merge")
    if result is not None:
        outputs = result.outputs["merge"]
        checked = "; loads and generates" if outputs.get("checked") else ""
        print(f"merged {outputs['source']} -> {outputs['model']}{checked}")
    return 0
