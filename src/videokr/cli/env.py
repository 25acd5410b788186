"""`videokr env create|check|lock`: the locked stage environments."""

import argparse
import shlex
import sys
from typing import Any

from videokr.cli.common import add_noun


def register(subparsers: Any) -> None:
    """Add `videokr env ...`."""
    verbs = add_noun(subparsers, "env", "create and check the pinned stage environments (sft, rl, eval)")
    create = verbs.add_parser("create", help="build the environments of a profile from their locks (envs/locks/)")
    create.add_argument("--profile", choices=["cpu", "gpu", "vllm-cpu"], default="cpu")
    create.add_argument("--prefix", help="cpu: the venv path (default .venv); gpu: the folder holding sft/ rl/ eval/")
    create.add_argument("--dry-run", action="store_true", help="print the commands, install nothing")
    create.set_defaults(func=_create)
    check = verbs.add_parser("check", help="compare each stage's environment with its lock, naming every difference")
    check.add_argument("--profile", choices=["cpu", "gpu", "vllm-cpu"], default="cpu")
    check.add_argument("--prefix", "--venv", dest="prefix", help="as for `env create`")
    check.set_defaults(func=_check)
    lock = verbs.add_parser("lock", help="resolve envs/*.txt (+ videokr's requirements) into envs/locks/ with uv")
    lock.add_argument("--profile", choices=["cpu", "gpu", "vllm-cpu", "all"], default="all")
    lock.add_argument("--python-platform", default=None, help="uv's target platform (default x86_64-manylinux_2_28)")
    lock.add_argument("--exclude-newer", help="resolve only releases published before this date (RFC 3339)")
    lock.add_argument("--check", action="store_true", help="only report locks whose inputs changed; exit 1 if any")
    lock.set_defaults(func=_lock)


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


def _lock(args: argparse.Namespace) -> int:
    from videokr.engines import envs, locks

    profiles: list[envs.Profile] = list(envs.PROFILES) if args.profile == "all" else [args.profile]
    inputs = [spec.requirements for profile in profiles for spec in envs.profile_envs(profile)]
    checkout = envs.checkout_root()
    if checkout is None:
        print(
            "error: `videokr env lock` re-resolves the pins of a source checkout; run it inside one", file=sys.stderr
        )
        return 1
    pyproject = checkout / "pyproject.toml"
    if args.check:
        problems = locks.stale_locks(inputs, pyproject)
        for problem in problems:
            print(f"error: {problem}")
        print(f"{len(inputs) - len(problems)}/{len(inputs)} locks match their inputs")
        return 1 if problems else 0
    platform = args.python_platform or locks.PYTHON_PLATFORM
    for requirements in inputs:
        written = locks.write_lock(requirements, pyproject, platform, args.exclude_newer)
        print(f"locked {requirements.name}: {len(locks.read_lock(written))} packages -> {written}")
    return 0
