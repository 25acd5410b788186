"""Small helpers shared by the CLI modules."""

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from videokr.run.graph import RunResult

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


def add_stage_arguments(parser: argparse.ArgumentParser, example: str, env: str | None = None) -> None:
    """The arguments of every single-stage verb: RECIPE [key=value ...] [--force] [--dry-run] [--python]."""
    parser.add_argument(
        "config", metavar="RECIPE", help="a recipe YAML, a shipped name (videokr recipes ls) or a run dir"
    )
    parser.add_argument("overrides", nargs="*", help=f"dotted overrides, e.g. {example}")
    parser.add_argument("--force", action="store_true", help="run even when its config and inputs are unchanged")
    parser.add_argument("--dry-run", action="store_true", help="print the command, environment and files; run nothing")
    if env is not None:
        parser.add_argument(
            "--python", help=f"interpreter of the {env} environment (default: see `videokr env check`)"
        )


def run_stage_command(args: argparse.Namespace, name: str) -> "RunResult | None":
    """Run the stage `name` of the recipe in `args` as a one-stage run; prints the plan on --dry-run (then None)."""
    from videokr.run.stages import run_stage

    result = run_stage(
        name,
        args.config,
        args.overrides,
        force=args.force,
        dry_run=args.dry_run,
        python=getattr(args, "python", None),
    )
    if args.dry_run:
        print(result.plans[name], end="")
        return None
    if name in result.skipped:
        print(f"{name}: unchanged since its last run in {result.run_dir}, skipped (--force runs it again)")
    return result
