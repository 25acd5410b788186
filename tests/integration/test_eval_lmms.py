"""Real lmms-eval on CPU: `videokr eval` with tiny Qwen2.5-VL / Qwen3-VL on a few generated rows, then resume.

Checks the published eval prompt reaches the model, the videos are read, every row is answered once and scored
(open-ended rows skipped without a judge), and a re-run after losing a chunk regenerates only the lost rows.
"""

import argparse
import json
import shutil
from pathlib import Path

import pytest

from videokr.cli.eval import add_launch_arguments, launch_eval
from videokr.engines.lmms_eval import ANSWERS_FILE
from videokr.prompts import render_prompt
from videokr.records import Sample

pytestmark = pytest.mark.integration

ROWS = [
    {"problem_id": "e1", "problem_type": "multiple choice", "question": "Colour of the square?",
     "options": ["A. red", "B. orange"], "solution": "B", "video_path": "square_8fps.mp4", "subject": "Physics"},
    {"problem_id": "e2", "problem_type": "open-ended", "question": "Which way does it move?", "solution": "down",
     "video_path": "Videos/odd_12fps.mp4", "subject": "Chemistry"},
    {"problem_id": "e3", "problem_type": "multiple choice", "question": "How many squares?",
     "options": ["A. one", "B. two"], "solution": "A", "video_path": "wide_25fps", "subject": "Physics"},
]  # fmt: skip


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory: pytest.TempPathFactory, good_videos: dict[str, Path]) -> Path:
    """VideoKR_eval-style rows; one video only under Videos/, one referenced without its suffix."""
    root = tmp_path_factory.mktemp("eval-corpus")
    (root / "Videos").mkdir()
    shutil.copy(good_videos["square_8fps"], root / "square_8fps.mp4")
    shutil.copy(good_videos["odd_12fps"], root / "Videos" / "odd_12fps.mp4")
    shutil.copy(good_videos["wide_25fps"], root / "wide_25fps.mp4")
    data = root / "VideoKR_eval.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return data


def _eval(model: Path, data: Path, out: Path, chunk_size: int) -> int:
    parser = argparse.ArgumentParser()
    add_launch_arguments(parser)
    args = parser.parse_args(
        ["--model", str(model), "--data", str(data), "--output-dir", str(out), "--device", "cpu",
         "--set", "generation.max_new_tokens=8", "--set", "generation.max_frames=4", "--chunk-size", str(chunk_size)]
    )  # fmt: skip
    return launch_eval(args)


def _answers(out: Path) -> dict[str, str]:
    return {r["id"]: r["prediction"] for r in map(json.loads, (out / ANSWERS_FILE).read_text().splitlines())}


def _check_run(out: Path) -> None:
    assert set(_answers(out)) == {"e1", "e2", "e3"}
    metrics = json.loads((out / "scores" / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_scored"], metrics["n_skipped"]) == (3, 2, 1)
    assert metrics["by_problem_type"]["open-ended"]["n_skipped"] == 1
    inputs = {}
    for samples in out.glob("chunks/*/lmms_eval/**/*_samples_videokr_eval.jsonl"):
        for line in map(json.loads, samples.read_text().splitlines()):
            inputs[line["videokr_acc"]["problem_id"]] = line["input"]
    assert inputs == {r["problem_id"]: render_prompt(Sample.from_raw(r), "eval") for r in ROWS}
    logs = "".join(p.read_text() for p in out.glob("chunks/*/engine.log"))
    assert "using decord to read video" in logs


def test_eval_tiny_qwen2_5_vl_answers_scores_and_resumes(
    tmp_path: Path, tiny_qwen2_5_vl: Path, eval_data: Path
) -> None:
    out = tmp_path / "eval"
    assert _eval(tiny_qwen2_5_vl, eval_data, out, chunk_size=0) == 0
    _check_run(out)
    assert sorted(p.name for p in (out / "chunks").iterdir()) == ["0000"]
    first = _answers(out)

    # Lose the last answer, as if the run had been killed in the chunk holding it: only that row is generated again.
    lines = (out / ANSWERS_FILE).read_text().splitlines()
    (out / ANSWERS_FILE).write_text("\n".join(lines[:2]) + "\n")
    assert _eval(tiny_qwen2_5_vl, eval_data, out, chunk_size=2) == 0
    assert sorted(p.name for p in (out / "chunks").iterdir()) == ["0000", "0001"]
    assert [
        json.loads(x)["problem_id"] for x in (out / "chunks" / "0001" / "data.jsonl").read_text().splitlines()
    ] == ["e3"]
    assert {k: v for k, v in _answers(out).items() if k != "e3"} == {k: v for k, v in first.items() if k != "e3"}

    # Nothing left to answer: no launch at all.
    assert _eval(tiny_qwen2_5_vl, eval_data, out, chunk_size=2) == 0
    assert len(list((out / "chunks").iterdir())) == 2


def test_eval_tiny_qwen3_vl_answers_and_scores(tmp_path: Path, tiny_qwen3_vl: Path, eval_data: Path) -> None:
    out = tmp_path / "eval"
    assert _eval(tiny_qwen3_vl, eval_data, out, chunk_size=0) == 0
    _check_run(out)
    command = (out / "chunks" / "0000" / "command.sh").read_text()
    assert "--model qwen3_vl" in command and "device_map=cpu" in command
