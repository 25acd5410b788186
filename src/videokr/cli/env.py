"""`videokr env create|check`: the pinned stage environments."""

import argparse
import shlex
from typing import Any

from videokr.cli.common import add_noun


def register(subparsers: Any) -> None:
    """Add `videokr env ...`."""
    verbs = add_noun(subparsers, "env", "create and check the pinned stage environments (sft, rl, eval)")
    create = verbs.add_parser("create", help="build the environments of a profile from envs/*.txt")
    create.add_argument("--profile", choices=["cpu", "gpu"], default="cpu")
    create.add_argument("--prefix", help="cpu: the venv path (default .venv); gpu: the folder holding sft/ rl/ eval/")
    create.add_argument("--dry-run", action="store_true", help="print the commands, install nothing")
    create.set_defaults(func=_create)
    check = verbs.add_parser("check", help="show each stage's environment and key package versions")
    check.add_argument("--profile", choices=["cpu", "gpu"], default="cpu")
    check.add_argument("--prefix", "--venv", dest="prefix", help="as for `env create`")
    check.set_defaults(func=_check)


def _create(args: argparse.Namespace) -> int:
    from videokr.engines import envs

    commands = envs.create_commands(args.profile, args.prefix)
    if args.dry_run:
        for argv in commands:
            print(shlex.join(argv))
        return 0
    envs.run_commands(commands)
    print(f"created the {args.profile} environments; check them with: videokr env check --profile {args.profile}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from videokr.engines import envs

    reports = envs.check_envs(args.profile, args.prefix)
    for report in reports:
        shown = ", ".join(f"{name} {version}" for name, version in report.versions.items() if version)
        print(f"{report.stage:<5} env={report.env} python {report.python_version} ({report.python})")
        if shown:
            print(f"      {shown}")
    problems = [f"{report.stage}: {problem}" for report in reports for problem in report.problems]
    for problem in problems:
        print(f"error: {problem}")
    return 1 if problems else 0
