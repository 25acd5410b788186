"""`videokr recipes ls` lists the shipped recipes; `videokr recipes cp NAME DEST` copies one out to edit.

videokr recipes cp qwen2_5vl my_run.yaml && videokr run my_run.yaml --dry-run
"""

import argparse
from typing import Any

from videokr.cli.common import add_noun, print_table
from videokr.recipes import copy_recipe, describe_recipe, list_recipes


def register(subparsers: Any) -> None:
    """Add `videokr recipes ls|cp`."""
    verbs = add_noun(subparsers, "recipes", "the recipes shipped with videokr (run one by name: videokr run NAME)")
    ls = verbs.add_parser("ls", help="list the shipped recipes")
    ls.set_defaults(func=run_ls)
    cp = verbs.add_parser("cp", help="copy a shipped recipe to edit it")
    cp.add_argument("name", metavar="NAME", choices=sorted(list_recipes()), help="a name from `videokr recipes ls`")
    cp.add_argument("dest", metavar="DEST", help="file to write, or a folder to copy into")
    cp.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    cp.set_defaults(func=run_cp)


def run_ls(args: argparse.Namespace) -> int:
    """Print name, file and first comment line of every shipped recipe."""
    rows = [{"name": name, "about": describe_recipe(path)} for name, path in list_recipes().items()]
    print_table(rows, ["name", "about"])
    return 0


def run_cp(args: argparse.Namespace) -> int:
    """Copy the recipe and say where it went."""
    target = copy_recipe(args.name, args.dest, overwrite=args.overwrite)
    print(f"copied {args.name} to {target}; run it with: videokr run {target}")
    return 0
