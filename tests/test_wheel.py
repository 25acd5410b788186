"""The built wheel works outside the checkout: shipped recipes, environment pins and the demo, from a fresh venv.

The wheel is built from this checkout and installed without dependencies into a new venv whose only other
packages are those of the project's venv (a `.pth` line: the engines and videokr's requirements, not videokr).
Every command runs from a directory outside the checkout.
"""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import videokr

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel of this checkout (and, through a .pth line, the project venv's packages)."""
    root = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", str(REPO), "-w", str(root / "dist")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (root / "dist").glob("videokr-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _videokr(venv: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOKR_") and k != "PYTHONPATH"}
    env["HOME"] = str(tmp_path / "home")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    return subprocess.run(
        [str(venv / "bin" / "videokr"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_package_comes_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    probe = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", "import videokr; print(videokr.__file__, videokr.__version__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    where, version = probe.stdout.split()
    assert Path(where).is_relative_to(wheel_venv) and version == videokr.__version__


def test_recipes_ship_and_run_by_name(wheel_venv: Path, tmp_path: Path) -> None:
    listed = _videokr(wheel_venv, tmp_path, "recipes", "ls")
    assert listed.returncode == 0, listed.stderr
    assert {"demo", "qwen2_5vl", "qwen3vl"} <= {line.split()[0] for line in listed.stdout.splitlines()[1:]}
    run = _videokr(wheel_venv, tmp_path, "run", "qwen2_5vl", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "== grpo" in run.stdout and "verl.trainer.main_ppo" in run.stdout
    assert str(tmp_path / "elsewhere" / "runs" / "qwen2_5vl") in run.stdout  # runs/ of the working directory


def test_env_create_plans_from_the_shipped_locks(wheel_venv: Path, tmp_path: Path) -> None:
    created = _videokr(wheel_venv, tmp_path, "env", "create", "--profile", "gpu", "--dry-run")
    assert created.returncode == 0, created.stderr
    site = str(wheel_venv / "lib")
    locks = [line for line in created.stdout.splitlines() if "--require-hashes" in line]
    assert len(locks) == 3 and all(f"{site}" in line and "/videokr/envs/locks/gpu-" in line for line in locks)
    assert f"videokr=={videokr.__version__}" in created.stdout  # no checkout to install editable from
    assert str(tmp_path / "home" / ".videokr" / ".venvs" / "sft") in created.stdout


def test_the_small_demo_plans_outside_the_checkout(wheel_venv: Path, tmp_path: Path) -> None:
    demo = _videokr(wheel_venv, tmp_path, "demo", "--small", "--dry-run", "--output", str(tmp_path / "demo"))
    assert demo.returncode == 0, demo.stderr
    headings = [line.removeprefix("== ") for line in demo.stdout.splitlines() if line.startswith("== ")]
    assert headings == ["demo-inputs", "prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report"]
    assert not (tmp_path / "demo").exists()  # a dry run writes nothing
