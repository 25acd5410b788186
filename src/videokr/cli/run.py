"""`videokr run RECIPE [key=value ...] [--from STAGE] [--until STAGE] [--dry-run]`: the whole chain."""

import argparse
import time
from typing import Any

from videokr.cli.explore import explorer_line
from videokr.run.stages import STAGE_NAMES


def register(subparsers: Any) -> None:
    """Add `videokr run`."""
    run = subparsers.add_parser(
        "run",
        help="run the recipe: " + " -> ".join(STAGE_NAMES),
        description="Run a recipe in runs/<name>/, skipping stages whose config and inputs are unchanged. "
        "Example: videokr run qwen2_5vl --from grpo grpo.lr=3e-6",
    )
    run.add_argument(
        "config", metavar="RECIPE", help="a recipe YAML, a shipped name (videokr recipes ls) or a run dir"
    )
    run.add_argument("overrides", nargs="*", help="dotted overrides, e.g. grpo.lr=3e-6")
    run.add_argument("--from", dest="start", choices=STAGE_NAMES, help="re-run from this stage on")
    run.add_argument("--until", choices=STAGE_NAMES, help="stop after this stage")
    run.add_argument("--dry-run", action="store_true", help="print what each stage would launch; run nothing")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from videokr.run.stages import run_recipe

    started = time.monotonic()
    result = run_recipe(
        args.config, args.overrides, start=args.start, until=args.until, dry_run=args.dry_run, on_stage=progress
    )
    if args.dry_run:
        for stage, text in result.plans.items():
            print(f"== {stage}\n{text}", end="")
        return 0
    print(f"ran: {', '.join(result.ran) or '-'}; skipped (unchanged): {', '.join(result.skipped) or '-'}")
    print(f"run directory: {result.run_dir}  ({time.monotonic() - started:.0f} s)")
    report = result.run_dir / "report.md"
    if report.is_file():
        print(f"report: {report}")
    print(explorer_line(result.run_dir))
    return 0


def progress(index: int, total: int, stage: str, status: str) -> None:
    """Print one stage's status as the graph goes."""
    print(f"[{index + 1}/{total}] {stage}: {status}", flush=True)
