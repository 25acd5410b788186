"""`videokr demo [--small] [--output DIR] [--dry-run]`: the whole chain on the built-in demo corpus, then its bar."""

import argparse
import time
from pathlib import Path
from typing import Any

from videokr.cli.explore import explorer_line
from videokr.cli.run import progress
from videokr.run.stages import STAGE_NAMES


def register(subparsers: Any) -> None:
    """Add `videokr demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="run the whole chain on the built-in synthetic corpus (CPU, offline) and check the demo's bar",
        description="Generates the flame-test corpus and a perceiving tiny base model, then runs prepare-sft -> "
        "sft (LLaMA-Factory) -> prepare-rl -> grpo (verl) -> merge -> eval (lmms-eval) -> report, and checks "
        "held-out multiple-choice accuracy of base, sft, grpo and grpo on blanked videos. Re-running resumes.",
    )
    demo.add_argument("overrides", nargs="*", help="dotted overrides of the demo recipe")
    demo.add_argument("--output", type=Path, default=Path("runs/demo"), help="run directory (default runs/demo)")
    demo.add_argument("--from", dest="start", choices=("demo-inputs", *STAGE_NAMES), help="re-run from this stage on")
    demo.add_argument("--small", action="store_true", help="a seconds-scale smoke test of every stage (no bar)")
    demo.add_argument("--dry-run", action="store_true", help="print what each stage would do; run nothing")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from videokr.run.demo import check_bar, run_demo

    started = time.monotonic()
    result = run_demo(
        args.output, args.overrides, small=args.small, start=args.start, dry_run=args.dry_run, on_stage=progress
    )
    if args.dry_run:
        for stage, text in result.plans.items():
            print(f"== {stage}\n{text}", end="")
        return 0
    print(
        f"demo finished in {time.monotonic() - started:.0f} s; skipped (already done): {', '.join(result.skipped) or '-'}"
    )
    print(f"report: {args.output / 'report.md'}")
    print(explorer_line(args.output))
    checks = check_bar(args.output / "metrics.json")
    for check in checks:
        value = "n/a" if check.value is None else f"{check.value:.1f}"
        print(f"  {check.name:<17} {value:>6}  target {check.target:<10} {'ok' if check.ok else 'MISSED'}")
    if args.small:
        return 0  # the small demo is a smoke test of the chain, too small to learn
    return 0 if all(check.ok for check in checks) else 1
