"""`videokr serve MODEL`: the vLLM OpenAI-compatible server command, printed by --dry-run (a local judge).

Real servers are in tests/vllm/test_serve_judge.py.
"""

from pathlib import Path

import pytest

from videokr.cli import main


def test_dry_run_binds_local_only_and_names_the_model_after_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "judge"
    model.mkdir()
    assert main(["serve", str(model), "--device", "cpu", "--python", "/envs/vllm/bin/python", "--dry-run"]) == 0
    out = capsys.readouterr().out
    command = next(line.strip() for line in out.splitlines() if line.startswith("  /envs/vllm/bin/python "))
    assert " -m vllm.entrypoints.openai.api_server " in command
    assert f" --model {model} --served-model-name judge --host 127.0.0.1 --port 8000 " in command
    assert "VLLM_TARGET_DEVICE=cpu" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judge"], "a dry run starts and writes nothing"


def test_dry_run_takes_the_name_port_and_gpu_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", str(tmp_path), "--name", "judge", "--port", "8123", "--device", "gpu", "--python", "py"]
    assert main([*argv, "--tensor-parallel-size", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--served-model-name judge --host 127.0.0.1 --port 8123 " in out
    assert "--tensor-parallel-size 2" in out and "VLLM_TARGET_DEVICE" not in out
