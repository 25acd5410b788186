"""`videokr report RECIPE_OR_RUN_DIR [--force]`: report.md, metrics.json and plots of a run's evaluations."""

import argparse
from typing import Any

from videokr.cli.common import add_stage_arguments, run_stage_command


def register(subparsers: Any) -> None:
    """Add `videokr report`."""
    report = subparsers.add_parser(
        "report",
        help="rebuild report.md, metrics.json and plots of a run",
        description="The report stage of a run, alone: every model under <run>/eval side by side, plus the GRPO "
        "training curves. Example: videokr report runs/qwen2_5vl",
    )
    add_stage_arguments(report, "name=my-run")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    result = run_stage_command(args, "report")
    if result is not None:
        for path in result.outputs["report"]["files"]:
            print(path)
    return 0
