"""The `videokr` command line: `videokr <noun> <verb> ...`.

Each noun lives in its own module here and exposes `register(subparsers)`; a handler parses nothing
itself, calls one library function, prints a summary and returns an exit code. This package is the only
place that prints, and it never imports torch, transformers or an engine at module level.
"""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from videokr import __version__
from videokr.errors import VideoKRError

# Modules under videokr.cli that contribute subcommands, in help order.
COMMAND_MODULES = (
    "run",
    "recipes",
    "demo",
    "data",
    "train",
    "merge",
    "eval",
    "serve",
    "rewards",
    "report",
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
        try:
            module = importlib.import_module(f"videokr.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"videokr.cli.{name}":
                continue  # noun not built yet
            raise
        module.register(subparsers)
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
