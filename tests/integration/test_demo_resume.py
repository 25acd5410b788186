"""The whole chain on the small demo through the real engines: killed mid-run, it resumes without redoing work."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAGES = ["demo-inputs", "prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report"]


def demo_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "videokr", "demo", "--small", "--output", str(out)]


def stage_status(out: Path) -> dict[str, str]:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {name: entry["status"] for name, entry in manifest["stages"].items()}


def kill_when_running(out: Path, stage: str, timeout_s: float = 900) -> None:
    """Start the demo and SIGKILL its whole process group once `stage` is running."""
    proc = subprocess.Popen(
        demo_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout_s
    try:
        while stage_status(out).get(stage) != "running":
            assert proc.poll() is None, f"the demo exited ({proc.returncode}) before {stage} started"
            assert time.monotonic() < deadline, f"{stage} never started"
            time.sleep(0.5)
        time.sleep(3)  # let the engine get going, so the kill interrupts real work
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_demo_resumes_and_finishes_the_chain(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    kill_when_running(out, "sft")
    before = json.loads((out / "manifest.json").read_text())["stages"]
    assert before["sft"]["status"] == "running", "a SIGKILL leaves the stage marked running"
    assert before["demo-inputs"]["status"] == before["prepare-sft"]["status"] == "done"

    resumed = subprocess.run(demo_command(out), capture_output=True, text=True, timeout=1800)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "skipped (already done): demo-inputs, prepare-sft\n" in resumed.stdout
    after = json.loads((out / "manifest.json").read_text())["stages"]
    assert [name for name in STAGES if after[name]["status"] == "done"] == STAGES
    for name in ("demo-inputs", "prepare-sft"):
        assert after[name]["ended"] == before[name]["ended"], f"{name} ran again"

    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["base", "sft", "grpo", "grpo_blank_video", "grpo_training", "chance"]
    assert all(metrics[name]["n"] > 0 for name in ("base", "sft", "grpo", "grpo_blank_video"))
    assert metrics["grpo_training"]["steps"] == 1 and metrics["chance"] > 0
    assert "## What each stage did" in (out / "report.md").read_text()
    assert (out / "report.md").is_file() and list((out / "plots").glob("*.png"))
    for stage in ("sft", "grpo", "merge"):
        assert (out / stage / "command.sh").is_file() and (out / stage / "engine.log").is_file()

    again = subprocess.run(demo_command(out), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"skipped (already done): {', '.join(STAGES)}\n" in again.stdout
