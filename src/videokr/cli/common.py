"""Small helpers shared by the CLI modules."""

import argparse
from collections.abc import Callable
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
