"""`videokr run RECIPE [key=value ...]`: the whole chain of stages, printed by --dry-run."""

from pathlib import Path

import pytest

from videokr.cli import main
from videokr.recipes import RECIPES_DIR


def test_run_dry_run_cli_prints_each_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipe = RECIPES_DIR / "qwen3vl.yaml"
    assert main(["run", str(recipe), f"output_dir={tmp_path}", "--dry-run", "--until", "sft"]) == 0
    out = capsys.readouterr().out
    assert "== prepare-sft" in out and "== sft" in out and "== grpo" not in out


def test_run_accepts_a_shipped_recipe_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "qwen2_5vl", f"output_dir={tmp_path}/run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "== grpo" in out and "Qwen/Qwen2.5-VL-7B-Instruct" in out
