"""The recipe's stages: dry runs of the whole chain, the eval runs of a recipe, the run report."""

import json
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.config import load_recipe
from videokr.recipes import RECIPES_DIR
from videokr.scoring import score_samples
from videokr.stages import eval_runs, run_recipe, write_run_report


@pytest.mark.parametrize("recipe", ["qwen2_5vl", "qwen3vl"])
def test_dry_run_of_a_published_recipe_plans_every_stage_inside_the_run_dir(recipe: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_recipe(RECIPES_DIR / f"{recipe}.yaml", [f"output_dir={run_dir}"], dry_run=True)
    assert list(result.plans) == ["prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report"]
    assert "llamafactory-cli train" in result.plans["sft"]
    assert "verl.trainer.main_ppo" in result.plans["grpo"]
    assert f"actor_rollout_ref.model.path={run_dir / 'sft' / 'checkpoint'}" in result.plans["grpo"]
    assert f"data.train_files={run_dir / 'prepare-rl' / 'data' / 'train.parquet'}" in result.plans["grpo"]
    assert str(run_dir / "merge" / "hf") in result.plans["eval"]
    assert not run_dir.exists(), "a dry run writes nothing"


def test_run_dry_run_cli_prints_each_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipe = RECIPES_DIR / "qwen3vl.yaml"
    assert main(["run", str(recipe), f"output_dir={tmp_path}", "--dry-run", "--until", "sft"]) == 0
    out = capsys.readouterr().out
    assert "== prepare-sft" in out and "== sft" in out and "== grpo" not in out


def test_eval_runs_name_the_run_checkpoints_and_the_blank_video_control(tmp_path: Path) -> None:
    recipe = load_recipe(
        {"model": {"path": "/base"}, "data": {"video_root": "/videos"}},
        ["eval.models=[base, sft, grpo]", "eval.blank_video_root=/blank"],
    )
    assert eval_runs(recipe, tmp_path) == [
        ("base", "/base", "/videos"),
        ("sft", str(tmp_path / "sft" / "checkpoint"), "/videos"),
        ("grpo", str(tmp_path / "merge" / "hf"), "/videos"),
        ("grpo_blank_video", str(tmp_path / "merge" / "hf"), "/blank"),
    ]


def _scored(run_dir: Path, name: str, predictions: list[str]) -> None:
    rows = tmp_rows = run_dir / f"{name}.jsonl"
    with tmp_rows.open("w") as handle:
        for index, prediction in enumerate(predictions):
            row = {
                "problem_id": f"q{index}",
                "problem_type": "multiple choice",
                "question": "Which element?",
                "options": ["A. sodium", "B. copper"],
                "answer": "A",
                "skill": "KnowVid",
                "prediction": f"<think>t</think><answer>{prediction}</answer>",
            }
            handle.write(json.dumps(row) + "\n")
        open_ended = {"problem_id": "oe", "problem_type": "open-ended", "question": "Which?", "answer": "Na"}
        handle.write(json.dumps({**open_ended, "prediction": "<answer>Na</answer>"}) + "\n")
    score_samples(rows, run_dir / "eval" / name / "scores", plots=False)


def test_run_report_puts_models_in_recipe_order_with_accuracy_and_n(tmp_path: Path) -> None:
    _scored(tmp_path, "grpo", ["A", "A", "A", "B"])
    _scored(tmp_path, "base", ["B", "B", "A", "B"])
    _scored(tmp_path, "grpo_blank_video", ["B", "A", "B", "B"])
    write_run_report(tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert list(metrics) == ["base", "grpo", "grpo_blank_video"]
    assert metrics["base"]["accuracy"] == pytest.approx(25.0) and metrics["base"]["n"] == 4
    assert metrics["grpo"]["accuracy"] == pytest.approx(75.0)
    assert metrics["base"]["n_rows"] == 5, "the open-ended row is skipped without a judge"
    report = (tmp_path / "report.md").read_text()
    assert "grpo_blank_video" in report and "KnowVid" in report
    assert list((tmp_path / "plots").glob("*.png"))
