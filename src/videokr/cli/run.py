"""`videokr run CONFIG`: the whole chain, and `videokr report RUN_DIR`: tables and plots of a finished run."""

import argparse
import time
from pathlib import Path
from typing import Any

STAGES = ("prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report")


def register(subparsers: Any) -> None:
    """Add `videokr run` and `videokr report`."""
    run = subparsers.add_parser(
        "run",
        help="run the recipe: prepare-sft -> sft -> prepare-rl -> grpo -> merge -> eval -> report",
        description="Run a recipe in runs/<name>/, skipping stages whose config and inputs are unchanged. "
        "Example: videokr run qwen2_5vl --from grpo grpo.lr=3e-6",
    )
    run.add_argument("config", help="recipe: a YAML file or a shipped name (videokr recipes ls)")
    run.add_argument("overrides", nargs="*", help="dotted overrides, e.g. grpo.lr=3e-6")
    run.add_argument("--from", dest="start", choices=STAGES, help="re-run from this stage on")
    run.add_argument("--until", choices=STAGES, help="stop after this stage")
    run.add_argument("--dry-run", action="store_true", help="print what each stage would launch; run nothing")
    run.set_defaults(func=_run)
    report = subparsers.add_parser("report", help="rebuild report.md, metrics.json and plots of a run directory")
    report.add_argument("run_dir", type=Path)
    report.set_defaults(func=_report)


def _run(args: argparse.Namespace) -> int:
    from videokr.stages import run_recipe

    started = time.monotonic()
    result = run_recipe(
        args.config, args.overrides, start=args.start, until=args.until, dry_run=args.dry_run, on_stage=_progress
    )
    if args.dry_run:
        for stage, text in result.plans.items():
            print(f"== {stage}\n{text}")
        return 0
    print(f"ran: {', '.join(result.ran) or '-'}; skipped (unchanged): {', '.join(result.skipped) or '-'}")
    print(f"run directory: {result.run_dir}  ({time.monotonic() - started:.0f} s)")
    report = result.run_dir / "report.md"
    if report.is_file():
        print(f"report: {report}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from videokr.stages import write_run_report

    for path in write_run_report(args.run_dir):
        print(path)
    return 0


def _progress(index: int, total: int, stage: str, status: str) -> None:
    print(f"[{index + 1}/{total}] {stage}: {status}", flush=True)
