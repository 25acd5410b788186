"""`videokr merge RECIPE_OR_RUN_DIR`: verl's model merger on the run's GRPO checkpoint, printed by --dry-run."""

from pathlib import Path

import pytest

from videokr.cli import main


def test_merge_dry_run_names_the_latest_step_and_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints = tmp_path / "grpo" / "checkpoints"
    for step in (9, 40, 20):  # numeric order: 40, not 9
        (checkpoints / f"global_step_{step}" / "actor").mkdir(parents=True)
    assert main(["merge", "qwen2_5vl", f"output_dir={tmp_path}", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "verl.model_merger merge --backend fsdp" in out
    assert f"--local_dir {checkpoints.absolute() / 'global_step_40' / 'actor'}" in out
    assert f"--target_dir {tmp_path / 'merge' / 'hf'}" in out
    assert main(["merge", "qwen2_5vl", f"output_dir={tmp_path}", "merge.step=7", "--dry-run"]) == 1
    assert "no global_step_7" in capsys.readouterr().err
    assert not (tmp_path / "merge").exists()
