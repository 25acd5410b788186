"""`videokr tiny build`: write a tiny random Qwen-VL checkpoint for demos and tests (no network)."""

import argparse
import time
from pathlib import Path
from typing import Any

from videokr.cli.common import add_noun
from videokr.errors import DataError
from videokr.tiny import FAMILIES, SIZES, build_tiny_model, count_parameters


def register(subparsers: Any) -> None:
    """Add `videokr tiny build`."""
    verbs = add_noun(subparsers, "tiny", "tiny random Qwen2.5-VL / Qwen3-VL checkpoints built offline")
    build = verbs.add_parser(
        "build",
        help="build a tiny checkpoint directory",
        description="Build a tiny random checkpoint (tokenizer, processor, config, weights) into OUT.",
    )
    build.add_argument("out", metavar="OUT", help="checkpoint directory to create")
    build.add_argument("--family", choices=FAMILIES, default="qwen2_5_vl", help="model family (default qwen2_5_vl)")
    build.add_argument("--size", choices=SIZES, default="small", help="small: tests (~0.3 M); demo: learns a task")
    build.add_argument("--seed", type=int, default=0, help="weight-init seed (default 0)")
    build.add_argument(
        "--corpus", metavar="FILE", help="extra text (UTF-8) for the tokenizer's BPE corpus, e.g. the demo's words"
    )
    build.add_argument("--overwrite", action="store_true", help="replace OUT if it already holds files")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    """Build the checkpoint and print its path, parameter count and build time."""
    started = time.perf_counter()
    extra = read_corpus(args.corpus) if args.corpus else []
    path = build_tiny_model(args.out, args.family, args.size, args.seed, extra_text=extra, overwrite=args.overwrite)
    elapsed = time.perf_counter() - started
    print(f"built {args.family} ({args.size}, seed {args.seed}) at {path}")
    print(f"parameters: {count_parameters(path):,}  time: {elapsed:.1f} s")
    return 0


def read_corpus(path: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read corpus file ({exc})") from exc
    return [line for line in text.splitlines() if line.strip()]
