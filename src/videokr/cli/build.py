"""`videokr build`: turn a knowledge bank, seeds and a video source into a VideoKR-style corpus.

videokr build CONFIG [key=value ...] [--from STAGE] [--until STAGE] [--dry-run]   every stage
videokr build STAGE CONFIG [key=value ...] [--force] [--dry-run]                  one stage (bank, scenarios,
                                                collect, relevance, generate, qc, decontaminate, split, report)
videokr build bank-draft CONFIG --subject S --model ENDPOINT [--count N] [--output FILE]
videokr build review export CONFIG [--step STEP ...] [--sample N]
videokr build review import CONFIG VERDICTS
videokr build select CONFIG
videokr build demo [--output DIR] [--clips N] [--solver-model CHECKPOINT]         the offline flame demo
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from videokr.build.stages import STEP_NAMES as STAGES
from videokr.cli.run import progress

VERBS = (*STAGES, "bank-draft", "review", "select", "demo")


def register(subparsers: Any) -> None:
    """Add `videokr build`."""
    build = subparsers.add_parser(
        "build",
        help="build a VideoKR-style corpus: bank -> scenarios -> collect -> relevance -> generate -> qc -> split",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("words", nargs=argparse.REMAINDER, help="CONFIG [overrides], or a verb and its arguments")
    build.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    words = list(args.words)
    if not words or words[0] in ("-h", "--help"):
        print(__doc__)
        return 2 if not words else 0
    verb = words[0] if words[0] in VERBS else None
    parser = _verb_parser(verb)
    parsed = parser.parse_args(words[1:] if verb else words)
    return int(parsed.handler(parsed))


def _verb_parser(verb: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"videokr build {verb or ''}".strip())
    if verb in ("review",):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write a review sample per step and candidate model")
        export.add_argument("config")
        export.add_argument("--step", action="append", choices=("scenarios", "relevance", "generate"))
        export.add_argument("--sample", type=int, help="items per step and model (default: review.sample, 100)")
        export.add_argument("--output", type=Path, help="folder of the review files (default RUN/review)")
        export.set_defaults(handler=_review_export)
        imp = sub.add_parser("import", help="read experts' verdicts (jsonl) into the run")
        imp.add_argument("config")
        imp.add_argument("verdicts", type=Path)
        imp.set_defaults(handler=_review_import)
        return parser
    if verb == "demo":
        parser.add_argument("overrides", nargs="*")
        parser.add_argument("--output", type=Path, default=Path("runs/build-demo"))
        parser.add_argument("--clips", type=int, default=1, help="clips per flame colour")
        parser.add_argument(
            "--solver-model",
            type=Path,
            help="a local Qwen-VL checkpoint that answers qc's questions (the hf solver, also the difficulty band's "
            "target) instead of the text-cue baseline, e.g. RUN/base, the base model `videokr demo` prepares",
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.set_defaults(handler=_demo)
        return parser
    parser.add_argument("config", metavar="CONFIG", help="a build recipe YAML, a shipped name, or a build run dir")
    if verb == "select":
        parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. review.bar=0.8")
        parser.set_defaults(handler=_select)
        return parser
    if verb == "bank-draft":
        parser.add_argument("--subject", required=True)
        parser.add_argument("--discipline", default="")
        parser.add_argument("--model", required=True, help="an endpoint name of the recipe")
        parser.add_argument("--count", type=int, default=20)
        parser.add_argument("--output", type=Path, help="default RUN/bank/draft.jsonl")
        parser.set_defaults(handler=_bank_draft)
        return parser
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. generate.models=[gpt]")
    parser.add_argument("--dry-run", action="store_true", help="print what each stage would do; run nothing")
    if verb is None:
        parser.add_argument("--from", dest="start", choices=STAGES)
        parser.add_argument("--until", choices=STAGES)
        parser.set_defaults(handler=_build)
    else:
        parser.add_argument("--force", action="store_true", help="run even when unchanged")
        parser.set_defaults(handler=_stage, stage=verb)
    return parser


def _build(args: argparse.Namespace) -> int:
    from videokr.build.stages import run_build

    result = run_build(
        args.config, args.overrides, start=args.start, until=args.until, dry_run=args.dry_run, on_stage=progress
    )
    return _summary(result, args.dry_run)


def _stage(args: argparse.Namespace) -> int:
    from videokr.build.stages import run_build_stage

    result = run_build_stage(args.stage, args.config, args.overrides, force=args.force, dry_run=args.dry_run)
    if not args.dry_run and args.stage in result.skipped:
        print(f"{args.stage}: unchanged since its last run in {result.run_dir}, skipped (--force runs it again)")
    return _summary(result, args.dry_run)


def _demo(args: argparse.Namespace) -> int:
    from videokr.build.demo import run_build_demo

    overrides = list(args.overrides)
    if args.solver_model:
        checkpoint = args.solver_model.absolute()
        overrides = ["qc.solver=hf", f"qc.hf.checkpoint={checkpoint}", "qc.difficulty.model=hf", *overrides]
    result = run_build_demo(
        args.output, overrides, clips_per_colour=args.clips, dry_run=args.dry_run, on_stage=progress
    )
    return _summary(result, args.dry_run)


def _summary(result: Any, dry_run: bool) -> int:
    if dry_run:
        for stage, text in result.plans.items():
            print(f"== {stage}\n{text}", end="")
        return 0
    print(f"ran: {', '.join(result.ran) or '-'}; skipped (unchanged): {', '.join(result.skipped) or '-'}")
    split = result.outputs.get("split", {})
    if split:
        print(f"SFT: {split['sft_file']} ({split['sft']} rows)  RL: {split['rl_file']} ({split['rl']} rows)")
    qc = result.outputs.get("qc", {})
    if qc:
        print("qc dropped: " + ", ".join(f"{name} {n}" for name, n in qc["dropped"].items()))
    report = result.run_dir / "report.md"
    if report.is_file():
        print(f"report: {report}")
    return 0


def _run_dir(config: str) -> Path:
    from videokr.build.stages import load_build_run

    return Path(load_build_run(config).output_dir).absolute()


def _review_export(args: argparse.Namespace) -> int:
    from videokr.build.review import export_review
    from videokr.build.stages import load_build_run

    config = load_build_run(args.config)
    steps = args.step or ["scenarios", "relevance", "generate"]
    run_dir = Path(config.output_dir).absolute()
    present = [s for s in steps if args.step or (run_dir / {"generate": "generate"}.get(s, s)).is_dir()]
    written = export_review(run_dir, present, args.sample or config.review.sample, config.review.seed, args.output)
    for step, path in written.items():
        print(f"{step}: {path}")
    return 0


def _review_import(args: argparse.Namespace) -> int:
    from videokr.build.review import import_verdicts

    count, issues = import_verdicts(_run_dir(args.config), args.verdicts)
    for issue in issues:
        print(f"  {issue}", file=sys.stderr)
    print(f"imported {count} verdicts; {len(issues)} lines refused")
    return 1 if issues and not count else 0


def _select(args: argparse.Namespace) -> int:
    from videokr.build.stages import select_build

    selection, written = select_build(args.config, args.overrides)
    for step, choice in selection.items():
        shares = ", ".join(f"{m} {c['share']:.0%} of {int(c['decided'])}" for m, c in choice["models"].items())
        print(f"{step}: {choice['model'] or 'no model meets the bar'} (bar {choice['bar']:.0%}; {shares})")
    print(f"recorded in: {', '.join(str(p) for p in written)} (selected:)")
    return 0 if all(c["model"] for c in selection.values()) else 1


def _bank_draft(args: argparse.Namespace) -> int:
    from videokr.build.stages import draft_bank, load_build_run

    config = load_build_run(args.config)
    path = draft_bank(config, args.subject, args.discipline, args.model, args.count, args.output)
    print(f"draft written to {path}: edit it, then name it as inputs.bank")
    return 0
