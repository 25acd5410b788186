"""Pinned environment files and `videokr env create|check`."""

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

import videokr
from videokr.cli import main
from videokr.engines import envs

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_python_range() -> str:
    match = re.search(r'^requires-python\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match
    return match.group(1)


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_every_requirement_file_parses_and_agrees_on_python(profile: str) -> None:
    for spec in envs.profile_envs(profile):  # type: ignore[arg-type]
        pins = envs.read_pins(spec.requirements)
        assert "torch" in pins, spec.requirements
        assert envs.read_python_range(spec.requirements) == _pyproject_python_range()


def test_gpu_envs_pin_the_engine_of_their_stage_and_vllm_where_needed() -> None:
    pins = {spec.name: envs.read_pins(spec.requirements) for spec in envs.profile_envs("gpu")}
    assert pins["sft"]["llamafactory"] == "0.9.5" and "deepspeed" in pins["sft"]
    assert pins["rl"]["verl"] == "0.9.1" and "vllm" in pins["rl"]
    assert pins["eval"]["lmms-eval"] == "0.7.3" and "vllm" in pins["eval"]
    assert "vllm" not in envs.read_pins(envs.profile_envs("cpu")[0].requirements)


def test_cpu_profile_pins_the_engine_versions_of_the_issue() -> None:
    pins = envs.read_pins(envs.profile_envs("cpu")[0].requirements)
    expected = {"torch": "2.14.1", "torchvision": "0.29.1", "llamafactory": "0.9.5", "lmms-eval": "0.7.3"}
    assert {name: pins[name] for name in expected} == expected
    assert pins["verl"] == "0.9.1" and pins["transformers"] == "5.5.4"


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_create_dry_run_installs_videokr_into_every_environment(
    profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "create", "--profile", profile, "--prefix", "/opt/x", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    installs = [line for line in lines if " -r " in line]
    assert len(installs) == (1 if profile == "cpu" else 3)
    for line in installs:
        assert "--require-hashes" in line and "--no-deps" in line
        assert re.search(r" -r \S+/envs/locks/(cpu|gpu-sft|gpu-rl|gpu-eval)\.txt$", line), line
    editable = [line for line in lines if " -e " in line]
    assert len(editable) == len(installs) and all("--no-deps" in line for line in editable)
    assert not any(re.search(r" -r \S+/envs/[\w-]+\.txt", line) for line in lines), "installs from a loose input"
    assert not Path("/opt/x").exists()


def test_check_passes_on_this_environment(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for stage in envs.STAGES:
        monkeypatch.setenv(f"VIDEOKR_{stage.upper()}_PYTHON", sys.executable)
    assert main(["env", "check", "--profile", "cpu"]) == 0
    out = capsys.readouterr().out
    for stage in envs.STAGES:
        assert out.count(f"{stage} ") >= 1
    assert "llamafactory 0.9.5" in out and "verl 0.9.1" in out and "lmms-eval 0.7.3" in out


def test_check_names_the_fix_when_a_gpu_env_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for stage in envs.STAGES:
        monkeypatch.delenv(f"VIDEOKR_{stage.upper()}_PYTHON", raising=False)
    assert main(["env", "check", "--profile", "gpu", "--prefix", str(tmp_path)]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert all(f"fix: videokr env create --profile gpu --prefix {tmp_path}" in line for line in errors)


def test_check_names_every_difference_from_the_lock_with_the_resync_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cpu.txt").write_text("# requires-python: >=3.11,<3.13\ntorch==0.0.1\n")
    (tmp_path / "locks").mkdir()
    lock = tmp_path / "locks" / "cpu.txt"
    pyyaml = metadata.version("pyyaml")
    lock.write_text(
        f"pyyaml=={pyyaml} \\\n    --hash=sha256:{'0' * 64}\n"
        "torch==0.0.1 \\\n    --hash=sha256:" + "1" * 64 + "\n"
        "no-such-package-videokr==1.0 \\\n    --hash=sha256:" + "2" * 64 + "\n"
    )
    monkeypatch.setenv("VIDEOKR_ENVS_DIR", str(tmp_path))
    for stage in envs.STAGES:
        monkeypatch.setenv(f"VIDEOKR_{stage.upper()}_PYTHON", sys.executable)
    assert main(["env", "check", "--profile", "cpu"]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error:")]
    fix = f"(fix: {sys.executable} -m pip install --no-deps --require-hashes -r {lock})"
    torch = metadata.version("torch")
    assert f"error: sft: torch {torch} installed, 0.0.1 locked {fix}" in errors
    assert f"error: sft: no-such-package-videokr 1.0 is locked but not installed in {sys.executable} {fix}" in errors
    assert not any("pyyaml" in line for line in errors)
    assert len(errors) == 2 * len(envs.STAGES)


def test_launch_python_prefers_the_override_then_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOKR_RL_PYTHON", "/envs/rl/bin/python")
    assert envs.launch_python("rl") == "/envs/rl/bin/python"
    monkeypatch.delenv("VIDEOKR_RL_PYTHON")
    expected = envs.project_root() / ".venvs" / "rl" / "bin" / "python"
    assert envs.launch_python("rl") == (str(expected) if expected.exists() else sys.executable)


def test_a_created_gpu_env_is_what_its_stage_launches_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = tmp_path / ".venvs" / "sft" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    monkeypatch.setattr(envs, "checkout_root", lambda: tmp_path)
    monkeypatch.delenv("VIDEOKR_SFT_PYTHON", raising=False)
    assert envs.launch_python("sft") == str(python)
    assert envs.launch_python("eval") == sys.executable


def test_outside_a_checkout_environments_live_in_videokr_home_and_get_this_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(envs, "checkout_root", lambda: None)
    monkeypatch.setenv("VIDEOKR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VIDEOKR_INSTALL_SPEC", raising=False)
    commands = envs.create_commands("gpu")
    assert commands[0][-1] == str(tmp_path / "home" / ".venvs" / "sft")
    installs = [argv for argv in commands if "--no-build-isolation" in argv]
    assert installs and all(argv[-1] == f"videokr=={videokr.__version__}" for argv in installs)
    monkeypatch.setenv("VIDEOKR_INSTALL_SPEC", "/wheels/videokr-0.1.0-py3-none-any.whl")
    assert envs.create_commands("cpu")[-1][-1] == "/wheels/videokr-0.1.0-py3-none-any.whl"
