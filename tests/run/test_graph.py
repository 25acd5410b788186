"""The stage graph: skipping unchanged stages, re-running interrupted or forced ones, resuming, failure reports."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from videokr.errors import VideoKRError
from videokr.run.graph import StageError, run_stages
from videokr.run.stage import Stage, StageContext


class Step(Stage):
    """A stage made of a function: what the graph tests need."""

    def __init__(
        self, name: str, run: Any, config_keys: tuple[str, ...] = (), reads: str | None = None, env: str | None = None
    ) -> None:
        self.name, self.config_keys, self.env, self.reads, self.fn = name, config_keys, env, reads, run

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"out": ctx.run_dir / self.reads / "out.txt"} if self.reads else {}

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        return self.fn(ctx)


class Recorder:
    """Stages that append their name to `calls` and write one output file each."""

    def __init__(self, fail_at: str | None = None, interrupt_at: str | None = None) -> None:
        self.calls: list[str] = []
        self.fail_at = fail_at
        self.interrupt_at = interrupt_at

    def stage(self, name: str, reads: str | None = None) -> Stage:
        def run(ctx: StageContext) -> Mapping[str, Any]:
            self.calls.append(name)
            if name == self.interrupt_at:
                raise KeyboardInterrupt
            if name == self.fail_at:
                (ctx.stage_dir / "engine.log").write_text("\n".join(f"line {i}" for i in range(50)))
                (ctx.stage_dir / "command.sh").write_text("echo replay\n")
                raise RuntimeError("engine exited with 3")
            out = ctx.stage_dir / "out.txt"
            out.write_text(f"{name} {ctx.config.get(name)}")
            return {"out": str(out)}

        return Step(name, run, config_keys=(name,), reads=reads)


def chain(rec: Recorder) -> list[Stage]:
    return [rec.stage("a"), rec.stage("b", reads="a"), rec.stage("c", reads="b")]


def test_first_run_runs_every_stage_and_second_run_skips_them(tmp_path: Path) -> None:
    rec = Recorder()
    first = run_stages(chain(rec), tmp_path, {"a": 1})
    assert first.ran == ("a", "b", "c") and rec.calls == ["a", "b", "c"]
    second = run_stages(chain(rec), tmp_path, {"a": 1})
    assert second.skipped == ("a", "b", "c") and rec.calls == ["a", "b", "c"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {entry["status"] for entry in manifest["stages"].values()} == {"done"}


def test_a_config_change_reruns_that_stage_and_everything_after_it(tmp_path: Path) -> None:
    rec = Recorder()
    run_stages(chain(rec), tmp_path, {"a": 1, "b": 1})
    rec.calls.clear()
    result = run_stages(chain(rec), tmp_path, {"a": 1, "b": 2})
    assert result.skipped == ("a",) and rec.calls == ["b", "c"]


def test_an_interrupted_stage_reruns_and_finished_ones_do_not(tmp_path: Path) -> None:
    rec = Recorder(interrupt_at="b")
    with pytest.raises(KeyboardInterrupt):
        run_stages(chain(rec), tmp_path, {})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["b"]["status"] == "failed"
    rec2 = Recorder()
    result = run_stages(chain(rec2), tmp_path, {})
    assert rec2.calls == ["b", "c"] and result.skipped == ("a",)


def test_a_stage_killed_while_running_is_rerun(tmp_path: Path) -> None:
    run_stages(chain(Recorder()), tmp_path, {})
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["stages"]["c"]["status"] = "running"  # what a SIGKILL leaves behind
    manifest_path.write_text(json.dumps(manifest))
    rec = Recorder()
    run_stages(chain(rec), tmp_path, {})
    assert rec.calls == ["c"]


def test_from_forces_a_rerun_from_that_stage(tmp_path: Path) -> None:
    run_stages(chain(Recorder()), tmp_path, {})
    rec = Recorder()
    result = run_stages(chain(rec), tmp_path, {}, start="b")
    assert rec.calls == ["b", "c"] and result.skipped == ("a",)


def test_until_stops_after_the_named_stage(tmp_path: Path) -> None:
    rec = Recorder()
    run_stages(chain(rec), tmp_path, {}, until="b")
    assert rec.calls == ["a", "b"]


def test_from_a_stage_whose_predecessor_never_finished_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VideoKRError, match="has not finished"):
        run_stages(chain(Recorder()), tmp_path, {}, start="c")


def test_unknown_stage_name_lists_the_stages(tmp_path: Path) -> None:
    with pytest.raises(VideoKRError, match="stages are: a, b, c"):
        run_stages(chain(Recorder()), tmp_path, {}, start="sft")


def test_a_failed_stage_stops_the_run_with_log_tail_and_replay_command(tmp_path: Path) -> None:
    rec = Recorder(fail_at="b")
    with pytest.raises(StageError) as info:
        run_stages(chain(rec), tmp_path, {})
    message = str(info.value)
    assert "stage b failed: engine exited with 3" in message
    assert "line 49" in message and "line 10" not in message
    assert f"bash {tmp_path / 'b' / 'command.sh'}" in message
    assert rec.calls == ["a", "b"]


def test_a_changed_input_file_reruns_the_stage_that_reads_it(tmp_path: Path) -> None:
    run_stages(chain(Recorder()), tmp_path, {})
    (tmp_path / "a" / "out.txt").write_text("edited by hand, longer than before")
    rec = Recorder()
    run_stages(chain(rec), tmp_path, {})
    assert rec.calls == ["b", "c"]


def test_a_stage_with_an_engine_env_records_its_package_versions(tmp_path: Path) -> None:
    def run(ctx: StageContext) -> Mapping[str, Any]:
        return {}

    run_stages([Step("train", run, env="sft"), Step("convert", run)], tmp_path, {})
    stages = json.loads((tmp_path / "manifest.json").read_text())["stages"]
    versions = stages["train"]["versions"]
    assert versions["python"].count(".") == 2 and versions["videokr"] is not None
    assert "llamafactory" in versions and "versions" not in stages["convert"]


def test_a_changed_stage_starts_afresh_and_an_interrupted_one_keeps_its_state(tmp_path: Path) -> None:
    run_stages(chain(Recorder()), tmp_path, {"b": 1})
    (tmp_path / "b" / "engine-checkpoint").write_text("step 4")
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["stages"]["b"]["status"] = "running"  # killed mid-stage, same config
    manifest_path.write_text(json.dumps(manifest))
    run_stages(chain(Recorder()), tmp_path, {"b": 1})
    assert (tmp_path / "b" / "engine-checkpoint").is_file(), "a resumed stage keeps the engine's checkpoints"
    run_stages(chain(Recorder()), tmp_path, {"b": 2})
    assert not (tmp_path / "b" / "engine-checkpoint").exists(), "a changed stage must not resume stale state"
    (tmp_path / "c" / "engine-checkpoint").write_text("step 9")
    run_stages(chain(Recorder()), tmp_path, {"b": 2}, start="c")
    assert not (tmp_path / "c" / "engine-checkpoint").exists(), "--from starts the stage afresh"


def test_a_missing_input_stops_the_stage_before_it_runs(tmp_path: Path) -> None:
    rec = Recorder()
    with pytest.raises(VideoKRError, match="stage b cannot start, its inputs are missing"):
        run_stages([rec.stage("b", reads="a")], tmp_path, {})
    assert rec.calls == []


def test_a_change_of_a_resume_key_reruns_the_stage_but_keeps_its_state(tmp_path: Path) -> None:
    def run(ctx: StageContext) -> Mapping[str, Any]:
        (ctx.stage_dir / "steps").write_text(str(ctx.config["train"]["steps"]))
        return {}

    train = Step("train", run, config_keys=("train",))
    train.resume_keys = ("train.steps",)
    run_stages([train], tmp_path, {"train": {"steps": 2, "lr": 1}})
    (tmp_path / "train" / "checkpoint").write_text("step 2")
    assert run_stages([train], tmp_path, {"train": {"steps": 3, "lr": 1}}).ran == ("train",)
    assert (tmp_path / "train" / "checkpoint").is_file(), "a longer run resumes from the checkpoints"
    run_stages([train], tmp_path, {"train": {"steps": 3, "lr": 2}})
    assert not (tmp_path / "train" / "checkpoint").exists(), "another learning rate starts afresh"
