"""engines.base: plans are pure data; running one writes its files and command.sh, tees output, returns the code."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from videokr.engines.base import (
    LaunchPlan,
    count_gpus,
    format_plan,
    render_command_sh,
    resolve_device,
    run_plan,
    venv_executable,
)
from videokr.errors import EngineError

SCRIPT = """
import os, sys
print(open(sys.argv[1]).read().strip(), flush=True)
print("mode=" + os.environ["MODE"], flush=True)
print("key-present=" + str(bool(os.environ.get("OPENAI_API_KEY"))), flush=True)
sys.stderr.write("to-stderr\\n")
sys.exit(int(sys.argv[2]))
"""


def _plan(stage: Path, code: int) -> LaunchPlan:
    return LaunchPlan(
        argv=(sys.executable, "-c", SCRIPT, str(stage / "in.txt"), str(code)),
        env={"MODE": "fast mode", "OPENAI_API_KEY": "sk-very-secret", "HF_TOKEN": "hf_secret"},
        cwd=str(stage),
        files={"in.txt": "hello from a planned file\n", str(stage / "sub" / "abs.yaml"): "a: 1\n"},
        name="toy",
    )


@pytest.mark.parametrize("code", [pytest.param(0, id="success"), pytest.param(3, id="failure")])
def test_run_plan_writes_files_tees_output_and_returns_exit_code(tmp_path: Path, code: int) -> None:
    stage = tmp_path / "stage"
    sink = io.BytesIO()
    assert run_plan(_plan(stage, code), stage, echo=sink) == code
    assert (stage / "in.txt").read_text() == "hello from a planned file\n"
    assert (stage / "sub" / "abs.yaml").read_text() == "a: 1\n"
    shown = sink.getvalue().decode()
    for text in ("hello from a planned file", "mode=fast mode", "key-present=True", "to-stderr"):
        assert text in shown
        assert text in (stage / "engine.log").read_text()
    assert f"exit code {code}" in (stage / "engine.log").read_text()


def test_run_plan_appends_log_across_runs(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    run_plan(_plan(stage, 0), stage, echo=io.BytesIO())
    run_plan(_plan(stage, 1), stage, echo=io.BytesIO())
    log = (stage / "engine.log").read_text()
    assert log.count("=== videokr toy launch") == 2 and "exit code 0" in log and "exit code 1" in log


def test_command_sh_redacts_secrets_and_replays(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    run_plan(_plan(stage, 0), stage, dry_run=True)
    script = (stage / "command.sh").read_text()
    assert "sk-very-secret" not in script and "hf_secret" not in script
    assert not (stage / "engine.log").exists()  # dry run: nothing launched
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "from-caller", "HF_TOKEN": "x"}
    replay = subprocess.run(["bash", str(stage / "command.sh")], capture_output=True, text=True, env=env, check=False)
    assert replay.returncode == 0, replay.stderr
    assert "mode=fast mode" in replay.stdout and "key-present=True" in replay.stdout
    missing = subprocess.run(
        ["bash", str(stage / "command.sh")], capture_output=True, text=True, env={"PATH": "/bin"}, check=False
    )
    assert missing.returncode != 0 and "set HF_TOKEN in the environment" in missing.stderr


def test_format_plan_shows_everything_but_secrets(tmp_path: Path) -> None:
    text = format_plan(_plan(tmp_path, 0))
    assert "MODE=fast mode" in text and "OPENAI_API_KEY=<redacted>" in text and "HF_TOKEN=<redacted>" in text
    assert "sk-very-secret" not in text and "hello from a planned file" in text
    assert "'fast mode'" in render_command_sh(_plan(tmp_path, 0))


def test_planning_has_no_side_effects(tmp_path: Path) -> None:
    _plan(tmp_path / "never", 0)
    format_plan(_plan(tmp_path / "never", 0))
    assert not (tmp_path / "never").exists()


def test_run_plan_missing_executable_raises_engine_error(tmp_path: Path) -> None:
    plan = LaunchPlan(argv=(str(tmp_path / "no-such-engine"), "train"))
    with pytest.raises(EngineError, match="cannot start"):
        run_plan(plan, tmp_path / "stage", echo=io.BytesIO())


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        pytest.param("0,1,2,3", 4, id="four"),
        pytest.param("", 0, id="empty"),
        pytest.param("-1", 0, id="minus-one"),
        pytest.param("GPU-abc", 1, id="uuid"),
    ],
)
def test_count_gpus_reads_cuda_visible_devices(visible: str, expected: int) -> None:
    assert count_gpus({"CUDA_VISIBLE_DEVICES": visible}) == expected


@pytest.mark.parametrize(
    ("device", "gpus", "expected"),
    [
        pytest.param("auto", 0, "cpu", id="auto-no-gpu"),
        pytest.param("auto", 8, "gpu", id="auto-gpu"),
        pytest.param("cpu", 8, "cpu", id="forced-cpu"),
        pytest.param("gpu", 1, "gpu", id="forced-gpu"),
    ],
)
def test_resolve_device(device: str, gpus: int, expected: str) -> None:
    assert resolve_device(device, gpus) == expected


def test_resolve_device_gpu_without_gpu_raises() -> None:
    with pytest.raises(EngineError, match="no CUDA GPU"):
        resolve_device("gpu", 0)


def test_venv_executable_sits_beside_python() -> None:
    assert venv_executable("/opt/envs/eval/bin/python", "lmms-eval") == "/opt/envs/eval/bin/lmms-eval"
