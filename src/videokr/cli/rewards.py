"""`videokr rewards ls`: the rewards videokr ships and the options verl's `reward_kwargs` can pass them."""

import argparse
from typing import Any

from videokr.cli.common import add_noun, print_table


def register(subparsers: Any) -> None:
    """Add `videokr rewards ...`."""
    verbs = add_noun(subparsers, "rewards", "list the GRPO rewards and their options")
    ls = verbs.add_parser("ls", help="list rewards, their entry points and keyword options")
    ls.set_defaults(func=_ls)


def _ls(args: argparse.Namespace) -> int:
    from videokr.rewards.registry import REWARDS

    print_table(
        [{"name": s.name, "entry point": s.target, "what": s.help} for s in REWARDS.values()],
        ["name", "entry point", "what"],
    )
    for spec in REWARDS.values():
        if spec.options:
            print(f"\noptions of {spec.name}:")
            print_table(
                [{"option": o.name, "default": o.default, "what": o.help} for o in spec.options],
                ["option", "default", "what"],
            )
    return 0
