"""`videokr eval --model ...` runs lmms-eval; `videokr eval score`: score predictions offline (rules, or an LLM judge with a verdict cache) and report.

Options given on the noun itself (`videokr eval --model ... --tasks ...`) belong on `noun` in `register`, with
`noun.set_defaults(func=...)`: a verb's own defaults win when a verb is given, so `eval score` keeps working.
"""

import argparse
from pathlib import Path
from typing import Any

from videokr.cli.common import add_noun, add_stage_arguments, run_stage_command
from videokr.cli.eval_launch import add_launch_arguments, launch_eval


def register(subparsers: Any) -> None:
    """Add `videokr eval ...`."""
    verbs = add_noun(subparsers, "eval", "evaluate models and score predictions")
    noun = subparsers.choices["eval"]  # `videokr eval --model ... --tasks ...` runs lmms-eval
    add_launch_arguments(noun)
    noun.set_defaults(func=launch_eval)

    stage = verbs.add_parser(
        "run",
        help="the eval stage of a recipe: every model of eval.models, in the run directory",
        description="A one-stage run of `videokr run`'s eval stage (videokr.run.stages.Eval): base, sft and grpo "
        "resolve to the run's checkpoints. Example: videokr eval run qwen2_5vl eval.models=[sft] --dry-run",
    )
    add_stage_arguments(stage, "eval.models=[base,grpo]")
    stage.set_defaults(func=_run_stage)

    score = verbs.add_parser(
        "score",
        help="score an lmms-eval samples file (or a jsonl of eval rows with `prediction`) and write the report",
        description="Writes DIR/metrics.json, DIR/report.md, DIR/scores.jsonl and DIR/plots/*.png. Without a judge "
        "open-ended rows are skipped (counted, never wrong). The judge reads OPENAI_BASE_URL and OPENAI_API_KEY.",
    )
    score.add_argument("--samples", required=True, type=Path, help="lmms-eval *_samples_*.jsonl or eval rows jsonl")
    score.add_argument("--output-dir", required=True, type=Path)
    score.add_argument("--judge", help="LLM judge, e.g. openai:gpt-4o (any OpenAI-compatible endpoint)")
    score.add_argument(
        "--style",
        choices=["fixed", "compat"],
        default="fixed",
        help="fixed (default): strict letter matching, judge at temperature 0; compat: the published evaluator",
    )
    score.add_argument("--eval-file", type=Path, help="the eval jsonl, to join samples lines that carry only doc_id")
    score.add_argument("--judge-cache", type=Path, help="verdict cache jsonl (default DIR/judge_cache.jsonl)")
    score.add_argument("--judge-temperature", type=float, help="default 0 (fixed) or 1 (compat, as published)")
    score.add_argument("--judge-base-url", help="default $OPENAI_BASE_URL or https://api.openai.com/v1")
    score.add_argument("--concurrency", type=int, default=8, help="judge requests in flight (default 8)")
    score.add_argument(
        "--judge-retries", type=int, default=5, help="retries of a failed judge request, backing off (default 5)"
    )
    score.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    score.set_defaults(func=_score)


def _run_stage(args: argparse.Namespace) -> int:
    result = run_stage_command(args, "eval")
    if result is not None:
        for name, path in result.outputs["eval"]["metrics"].items():
            print(f"{name}: {path}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from videokr.report.markdown import format_accuracy
    from videokr.scoring import score_samples

    summary = score_samples(
        args.samples,
        args.output_dir,
        judge=args.judge,
        style=args.style,
        eval_file=args.eval_file,
        judge_cache=args.judge_cache,
        judge_temperature=args.judge_temperature,
        judge_base_url=args.judge_base_url,
        concurrency=args.concurrency,
        judge_retries=args.judge_retries,
        plots=not args.no_plots,
    )
    m = summary.metrics
    print(
        f"accuracy {format_accuracy(m['accuracy'])}% over {m['n_scored']} scored rows "
        f"({m['n_skipped']} skipped, {m['n_judge_failed']} judge failed, {summary.judge_requests} judge requests)"
    )
    print(f"wrote {summary.output_dir}/metrics.json, report.md, scores.jsonl")
    return 0
