"""`videokr eval`: `--model ...` evaluates a checkpoint with lmms-eval, `run RECIPE` is the recipe's eval stage
alone, `score` scores predictions offline (rules, or an LLM judge with a verdict cache) and reports.

Options given on the noun itself (`videokr eval --model ... --tasks ...`) belong on `noun` in `register`, with
`noun.set_defaults(func=...)`: a verb's own defaults win when a verb is given, so `eval score` keeps working.
"""

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from videokr.cli.common import add_noun, add_stage_arguments, run_stage_command


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


CHUNK_HELP = "rows per lmms-eval launch for videokr_eval: a killed run loses at most one chunk (0: all at once)"


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `videokr eval` itself (not of a verb)."""
    parser.add_argument("--model", help="checkpoint directory or hub id")
    parser.add_argument("--tasks", help="comma-separated: videokr_eval, videokr_videomme, ... (default videokr_eval)")
    parser.add_argument("--data", type=Path, help="VideoKR_eval.jsonl for videokr_eval")
    parser.add_argument("--video-root", type=Path, help="directory the rows' video_path are relative to")
    parser.add_argument("--limit", type=int, help="evaluate only the first N rows of each task")
    parser.add_argument("--judge", help="LLM judge for open-ended rows, e.g. openai:gpt-4o (key: OPENAI_API_KEY)")
    parser.add_argument("--output-dir", type=Path, help="stage directory (default eval.output_dir)")
    parser.add_argument("--config", type=Path, help="recipe YAML whose eval section gives the defaults")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="eval config override, e.g. --set generation.max_new_tokens=64 --set model_args.max_num_frames=4",
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "vllm", "vllm_generate", "qwen2_5_vl", "qwen3_vl"],
        help="lmms-eval model: vllm (videokr's, GPU default; on CPU it needs `make setup-vllm`), the HF models "
        "(CPU default), or lmms-eval's vllm_generate",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--python", help="interpreter of the eval environment (default: this one)")
    parser.add_argument("--chunk-size", type=int, help=CHUNK_HELP + " (default eval.chunk_size, 256)")
    parser.add_argument("--dry-run", action="store_true", help="print the lmms-eval launches; run nothing")


def build_eval_config(args: argparse.Namespace) -> Any:
    """The EvalConfig from --config's eval section, --set overrides, then the explicit flags."""
    from videokr.config import EvalConfig, load_config, load_recipe

    if args.config is not None:
        base = load_recipe(args.config, [f"eval.{item}" for item in args.set]).eval
    else:
        base = load_config(EvalConfig, None, args.set)
    flags: dict[str, Any] = {
        "model": args.model,
        "tasks": tuple(t.strip() for t in args.tasks.split(",") if t.strip()) if args.tasks else None,
        "data_file": str(args.data) if args.data else None,
        "video_root": str(args.video_root) if args.video_root else None,
        "limit": args.limit,
        "judge": args.judge,
        "output_dir": str(args.output_dir) if args.output_dir else None,
        "backend": args.backend,
        "device": args.device,
    }
    return dataclasses.replace(base, **{k: v for k, v in flags.items() if v is not None})


def launch_eval(args: argparse.Namespace) -> int:
    """Handler of `videokr eval --model ...`."""
    from videokr.engines.base import format_plan
    from videokr.engines.lmms_eval import evaluate
    from videokr.errors import ConfigError

    if not args.model and args.config is None:
        raise ConfigError("videokr eval needs --model PATH (or a verb: videokr eval score ...)")
    cfg = build_eval_config(args)
    result = evaluate(cfg, python=args.python, dry_run=args.dry_run, chunk_size=args.chunk_size)
    if args.dry_run:
        for plan in result.plans:
            print(format_plan(plan))
        if not result.plans:
            print("nothing to run: every row is already answered")
        return 0
    if result.code != 0:
        print(
            f"lmms-eval failed with exit code {result.code}; answered rows are kept, re-run to resume", file=sys.stderr
        )
        return result.code
    print(f"generated {result.generated} answers, reused {result.reused}")
    if result.scores_dir is not None:
        m = result.metrics
        accuracy = "n/a" if m.get("accuracy") is None else f"{m['accuracy']:.1f}%"
        print(
            f"videokr_eval accuracy {accuracy} over {m.get('n_scored')} scored rows ({m.get('n_skipped')} "
            f"skipped); report in {result.scores_dir}"
        )
    return 0
