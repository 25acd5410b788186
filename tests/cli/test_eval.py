"""`videokr eval --model ...`, `eval run RECIPE` and `eval score`: lmms-eval launches printed by --dry-run.

The real evaluations are integration tests (tests/integration/test_eval_lmms.py, tests/vllm/); `eval score`'s
summary is tested in tests/scoring/test_score_prediction.py, next to the samples files it builds.
"""

import json
from pathlib import Path

import pytest

from videokr.cli import main


def _rows(path: Path, n: int) -> Path:
    row = {"problem_type": "multiple choice", "question": "Q?", "options": ["A. x", "B. y"], "solution": "A"}
    path.write_text(
        "".join(json.dumps({**row, "problem_id": f"r{i}", "video_path": f"v{i}.mp4"}) + "\n" for i in range(n))
    )
    return path


def test_dry_run_prints_one_launch_per_chunk_and_reads_the_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("eval:\n  family: qwen3_vl\n  chunk_size: 2\n  generation:\n    max_new_tokens: 64\n")
    argv = ["eval", "--model", "/m", "--data", str(_rows(tmp_path / "eval.jsonl", 3)), "--config", str(recipe)]
    assert main([*argv, "--output-dir", str(tmp_path / "o"), "--device", "gpu", "--set", "seed=7", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("-m lmms_eval --model videokr_vllm") == 2  # one launch per chunk of 2 rows
    assert "--seed 7" in out and "max_new_tokens: 64" in out
    assert not (tmp_path / "o").exists()


def test_eval_without_a_model_or_a_verb_names_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--dry-run"]) == 1
    assert "videokr eval needs --model PATH (or a verb: videokr eval score ...)" in capsys.readouterr().err


def test_run_dry_run_names_every_model_of_the_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "run", "qwen2_5vl", f"output_dir={tmp_path}", "eval.models=[base, sft]", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "videokr eval --model Qwen/Qwen2.5-VL-7B-Instruct" in out and out.rstrip().endswith("# sft")
    assert f"--model {tmp_path / 'sft' / 'checkpoint'}" in out
    assert not (tmp_path / "eval").exists()
