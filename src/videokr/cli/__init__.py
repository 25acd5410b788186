"""The `videokr` command line: `videokr <noun> <verb> ...`.

Each noun lives in its own module here and exposes `register(subparsers)`; COMMAND_MODULES lists them all, in
help order. A handler parses nothing itself, calls one library function, prints a summary and returns an exit
code; the single-stage verbs (train sft|grpo, merge, report) are one-stage runs of the recipe's stage objects
(videokr.run.stages), `run` and `demo` run their graphs. This package is the only place that prints, and it never
imports torch, transformers or an engine at module level.
"""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from videokr import __version__
from videokr.errors import VideoKRError

# The modules under videokr.cli that contribute commands, in help order; every one must exist.
COMMAND_MODULES = (
    "run",
    "build",
    "recipes",
    "demo",
    "data",
    "train",
    "merge",
    "eval",
    "serve",
    "rewards",
    "report",
    "explore",
    "env",
    "tiny",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argparse tree."""
    parser = argparse.ArgumentParser(
        prog="videokr",
        description="Post-train video LLMs on knowledge- and reasoning-intensive video QA (VideoKR recipe).",
    )
    parser.add_argument("--version", action="version", version=f"videokr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"videokr.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except VideoKRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
