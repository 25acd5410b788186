"""The recipe's stages: dry runs of the whole chain, one-stage runs, the GRPO model rule, the report.

Their command lines (`videokr run`, `train`, `merge`, `report`) are tested in tests/cli/.
"""

import json
from pathlib import Path

import pytest

from videokr.config import load_recipe
from videokr.errors import VideoKRError
from videokr.recipes import RECIPES_DIR
from videokr.report.run import write_run_report
from videokr.run.inputs import eval_runs, grpo_model
from videokr.run.stages import STAGE_NAMES, recipe_stages, run_recipe, run_stage
from videokr.scoring import score_samples


@pytest.mark.parametrize("recipe", ["qwen2_5vl", "qwen3vl"])
def test_dry_run_of_a_published_recipe_plans_every_stage_inside_the_run_dir(recipe: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_recipe(RECIPES_DIR / f"{recipe}.yaml", [f"output_dir={run_dir}"], dry_run=True)
    assert (
        list(result.plans)
        == list(STAGE_NAMES)
        == ["prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report"]
    )
    assert "llamafactory-cli train" in result.plans["sft"]
    assert "verl.trainer.main_ppo" in result.plans["grpo"]
    assert f"actor_rollout_ref.model.path={run_dir / 'sft' / 'checkpoint'}" in result.plans["grpo"]
    assert f"data.train_files={run_dir / 'prepare-rl' / 'data' / 'train.parquet'}" in result.plans["grpo"]
    assert str(run_dir / "merge" / "hf") in result.plans["eval"]
    assert not run_dir.exists(), "a dry run writes nothing"


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


def _sft_data(run_dir: Path) -> None:
    data = run_dir / "prepare-sft" / "data"
    data.mkdir(parents=True)
    (data / "dataset_info.json").write_text('{"videokr_train": {"file_name": "videokr_train.json"}}')


@pytest.mark.parametrize(
    ("overrides", "sft_done", "upstream", "expected"),
    [
        pytest.param(["grpo.model_path=/ckpt"], True, ("sft",), "/ckpt", id="explicit-wins"),
        pytest.param([], True, (), "{run}/sft/checkpoint", id="sft-checkpoint-on-disk"),
        pytest.param([], False, ("sft",), "{run}/sft/checkpoint", id="sft-earlier-in-the-graph"),
        pytest.param([], False, (), "/base", id="base-model-fallback"),
        pytest.param(["sft.output_dir={run}/elsewhere"], False, ("sft",), "{run}/elsewhere", id="sft-output-dir"),
    ],
)
def test_grpo_starts_from_one_rule(
    overrides: list[str], sft_done: bool, upstream: tuple[str, ...], expected: str, tmp_path: Path
) -> None:
    recipe = load_recipe({"model": {"path": "/base"}}, [o.format(run=tmp_path) for o in overrides])
    if sft_done:
        (tmp_path / "sft" / "checkpoint").mkdir(parents=True)
        (tmp_path / "sft" / "checkpoint" / "config.json").write_text("{}")
    assert grpo_model(recipe, tmp_path, upstream).path == expected.format(run=tmp_path)


def test_a_one_stage_run_records_a_manifest_entry_and_is_skipped_when_unchanged(tmp_path: Path) -> None:
    corpus = tmp_path / "cot.jsonl"
    row = {
        "problem_id": "p1",
        "problem_type": "multiple choice",
        "question": "What burns?",
        "options": ["A. sodium", "B. argon"],
        "solution": "A",
        "think": "Yellow flame.",
        "video_path": "v/1.mp4",
    }
    corpus.write_text(json.dumps(row) + "\n")
    run_dir = tmp_path / "run"
    recipe = [f"output_dir={run_dir}", f"data.sft_file={corpus}"]
    first = run_stage("prepare-sft", "qwen2_5vl", recipe)
    assert first.ran == ("prepare-sft",) and first.outputs["prepare-sft"]["rows"] == 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["prepare-sft"]["status"] == "done"
    assert (run_dir / "config.yaml").is_file()
    assert run_stage("prepare-sft", str(run_dir)).skipped == ("prepare-sft",), "a run directory is a recipe"
    assert run_recipe("qwen2_5vl", recipe, until="prepare-sft").skipped == ("prepare-sft",)
    assert run_stage("prepare-sft", "qwen2_5vl", recipe, force=True).ran == ("prepare-sft",)
    corpus.write_text(json.dumps(row) + "\n" + json.dumps({**row, "problem_id": "p2"}) + "\n")
    assert run_stage("prepare-sft", "qwen2_5vl", recipe).outputs["prepare-sft"]["rows"] == 2


def test_a_one_stage_run_refuses_to_start_without_its_inputs(tmp_path: Path) -> None:
    with pytest.raises(VideoKRError, match=r"(?s)stage sft cannot start.*prepare-sft"):
        run_stage("sft", "qwen2_5vl", [f"output_dir={tmp_path}", "sft.device=cpu"])
    assert not (tmp_path / "sft").exists(), "nothing launched"


def test_the_stage_names_are_the_stages() -> None:
    assert tuple(stage.name for stage in recipe_stages(load_recipe({}))) == STAGE_NAMES


def test_demo_report_tells_what_each_stage_did_with_the_flips_and_the_bar(tmp_path: Path) -> None:
    from videokr.run.demo import DEMO_RECIPE, DemoReport, DemoSettings, demo_overrides
    from videokr.run.stage import StageContext

    _scored(tmp_path, "base", ["B", "B", "B", "B"])
    _scored(tmp_path, "sft", ["A", "B", "A", "B"])
    _scored(tmp_path, "grpo", ["A", "A", "A", "B"])  # q1 newly right, none lost
    _scored(tmp_path, "grpo_blank_video", ["B", "A", "B", "B"])
    steps = [{"step": s, "critic/score/mean": r} for s, r in enumerate([0.3, 0.4, 0.5, 0.8, 0.9, 1.0], start=1)]
    (tmp_path / "grpo").mkdir()
    (tmp_path / "grpo" / "metrics.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    recipe = load_recipe(DEMO_RECIPE, demo_overrides(tmp_path))
    stage = DemoReport(recipe, DemoSettings())
    stage.run(StageContext(run_dir=tmp_path, stage_dir=tmp_path / "report", config={}))

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [name for name in metrics if isinstance(metrics[name], dict) and "accuracy" in metrics[name]] == [
        "base",
        "sft",
        "grpo",
        "grpo_blank_video",
    ]
    assert metrics["chance"] == pytest.approx(100 / DemoSettings().n_options, abs=0.01)
    assert metrics["grpo_training"]["first_step_reward"] == 0.3 and metrics["grpo_training"]["last_step_reward"] == 1.0
    assert metrics["grpo_training"]["first_steps_mean"] == pytest.approx(0.4)  # three steps each: half of six
    report = (tmp_path / "report.md").read_text()
    assert report.index("## What each stage did") < report.index("## Overall")
    assert "**sft, 50.0%** (by skill: KnowVid 50%)" in report and "**grpo, 75.0%**" in report
    assert "answers 1 right, and it loses 0" in report
    assert f"{recipe.grpo.total_training_steps} steps of {recipe.grpo.train_batch_size} multiple-choice" in report
    # four rows are far fewer than the bar asks for, and grpo 75 is under its floor
    assert "| held-out MC rows | 4.0 | >= 100 | MISSED |" in report and "| grpo | 75.0 | >= 85 | MISSED |" in report
    assert f"| base | 0.0 | <= {100 / DemoSettings().n_options + 10:.1f} | ok |" in report
