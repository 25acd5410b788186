"""`videokr eval --model PATH --tasks videokr_eval[,...]`: evaluate with lmms-eval, then score and report.

Wired into the `eval` noun by cli/eval.py: `add_launch_arguments(noun)` and `noun.set_defaults(func=launch_eval)`.
"""

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

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
