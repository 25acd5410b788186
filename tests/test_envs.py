"""Pinned environment files and where each stage's environment lives; `videokr env`: tests/cli/test_env.py."""

import re
import sys
from pathlib import Path

import pytest

import videokr
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
