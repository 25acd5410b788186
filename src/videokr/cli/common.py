"""Small helpers shared by the CLI modules."""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def add_noun(subparsers: Any, name: str, help_text: str) -> Any:
    """Add a noun (`videokr data ...`) and return its own subparsers for the verbs."""
    noun = subparsers.add_parser(name, help=help_text, description=help_text)
    noun.set_defaults(func=lambda _args: (noun.print_help(), 2)[1])
    return noun.add_subparsers(dest=f"{name}_verb", metavar="VERB")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print `rows` as an aligned plain-text table."""
    cells = [[str(row.get(col, "")) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    print("  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def add_training_arguments(parser: argparse.ArgumentParser, section: str, env: str, example: str) -> None:
    """The arguments every `videokr train <verb>` shares: recipe, overrides, stage dir, interpreter, dry run."""
    parser.add_argument("config", help="recipe: a YAML file or a shipped name (videokr recipes ls)")
    parser.add_argument("overrides", nargs="*", help=f"dotted overrides, e.g. {example}")
    parser.add_argument(
        "--stage-dir",
        type=Path,
        help=f"where command.sh, engine.log and rendered files go (default: the parent of {section}.output_dir)",
    )
    parser.add_argument("--python", help=f"interpreter of the {env} environment (default: see `videokr env check`)")
    parser.add_argument("--dry-run", action="store_true", help="print the command, environment and files; run nothing")
