"""`videokr merge RUN_OR_CKPT_DIR [--step N] [--out DIR] [--dry-run]`: verl FSDP checkpoint -> Hugging Face model."""

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add `videokr merge`."""
    merge = subparsers.add_parser(
        "merge",
        help="merge a verl GRPO checkpoint into a Hugging Face model and check it generates",
        description="Run `python -m verl.model_merger merge --backend fsdp` on global_step_N/actor (the latest, or "
        "--step N), copy the processor files, then load the result and generate from a video prompt. RUN_OR_CKPT_DIR "
        "is a verl checkpoint directory (holding global_step_N), one global_step_N, or a run directory whose "
        "grpo/checkpoints holds them. Example: videokr merge runs/qwen3vl --step 40 --out runs/qwen3vl/hf",
    )
    merge.add_argument("path", type=Path, metavar="RUN_OR_CKPT_DIR")
    merge.add_argument("--step", type=int, help="global step to merge (default: the latest)")
    merge.add_argument("--out", type=Path, help="target directory (default: <ckpt>/../merged/global_step_N)")
    merge.add_argument("--no-check", action="store_true", help="skip the load-and-generate check")
    merge.add_argument("--python", help="interpreter of the rl environment (default: this one)")
    merge.add_argument("--dry-run", action="store_true", help="print the command; run nothing")
    merge.set_defaults(func=_merge)


def checkpoint_root(path: Path) -> Path:
    """A run directory's GRPO checkpoints (`<run>/grpo/checkpoints`) when present, else `path` itself."""
    candidate = path / "grpo" / "checkpoints"
    return candidate if candidate.is_dir() else path


def _merge(args: argparse.Namespace) -> int:
    from videokr.config.grpo import MergeConfig
    from videokr.engines.base import format_plan
    from videokr.engines.verl import merge_checkpoint

    cfg = MergeConfig(step=args.step, target_dir=str(args.out or ""), check_generate=not args.no_check)
    root = checkpoint_root(args.path)
    stage_dir = (args.out.absolute().parent if args.out else root.absolute().parent) / "merge"
    plan, target, code = merge_checkpoint(
        cfg, checkpoint_dir=str(root), stage_dir=stage_dir, python=args.python, dry_run=args.dry_run
    )
    if args.dry_run:
        print(format_plan(plan), end="")
        return 0
    if code != 0:
        print(f"merge failed with exit code {code}: see {stage_dir / 'engine.log'}", file=sys.stderr)
        return code
    checked = "; loads and generates" if cfg.check_generate else ""
    print(f"merged {plan.argv[plan.argv.index('--local_dir') + 1]} -> {target}{checked}")
    return 0
