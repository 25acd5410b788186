"""`videokr train sft|grpo RECIPE [key=value ...]`: one stage of the recipe, its launch printed by --dry-run.

The real launches are integration tests (tests/integration/test_sft_llamafactory.py, test_grpo_verl.py); the
rollout-timing refusals of `train grpo` are in tests/engines/test_rollout_timing.py, next to their fake engines.
"""

from pathlib import Path

import pytest

from videokr.cli import main
from videokr.recipes import RECIPES_DIR


def test_grpo_dry_run_prints_the_launch_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    code = main(["train", "grpo", str(RECIPES_DIR / "qwen3vl.yaml"), "grpo.lr=3e-6", f"output_dir={run}", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "verl.trainer.main_ppo" in out and "actor_rollout_ref.actor.optim.lr=3e-06" in out
    assert f"VERL_FILE_LOGGER_PATH={run / 'grpo'}" in out
    assert not run.exists()  # a dry run writes nothing


@pytest.mark.parametrize(
    ("verb", "stage"),
    [pytest.param(["train", "sft"], "sft", id="sft"), pytest.param(["train", "grpo"], "grpo", id="grpo")],
)
def test_dry_run_prints_the_same_plan_from_the_verb_and_from_run(
    verb: list[str], stage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sft" / "checkpoint").mkdir(parents=True)
    (tmp_path / "sft" / "checkpoint" / "config.json").write_text("{}")  # so the verb also starts GRPO from SFT
    args = ["qwen3vl", f"output_dir={tmp_path}", "grpo.lr=3e-6", "--dry-run"]
    assert main([*verb, *args]) == 0
    alone = capsys.readouterr().out
    assert main(["run", *args, "--until", stage]) == 0
    chain = capsys.readouterr().out
    assert alone and f"== {stage}\n{alone}" in chain
    assert not (tmp_path / "manifest.json").exists()
