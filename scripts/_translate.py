"""Shared by the Python wrappers: run a published command line as the videokr command it translates to."""

import shlex
import sys
from collections.abc import Callable

from videokr.cli import main


def run_translated(translate: Callable[[list[str]], list[str]]) -> int:
    """Translate sys.argv; with --dry-run print the videokr command, else run it and return its exit code."""
    argv = sys.argv[1:]
    command = translate([arg for arg in argv if arg != "--dry-run"])
    if "--dry-run" in argv:
        print("videokr " + shlex.join(command))
        return 0
    return main(command)
