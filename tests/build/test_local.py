"""The `hf` solver on the tiny random Qwen-VL checkpoints: the plumbing of each mode, not accuracy."""

import json
from pathlib import Path

import pytest

from videokr.build.config import DifficultyConfig, FramesConfig, HFConfig, QCConfig
from videokr.build.demo import write_demo_inputs
from videokr.build.frames import planned_images
from videokr.build.local import HFSolver
from videokr.build.qc import difficulty, video_dependency
from videokr.cli import main
from videokr.io import read_jsonl

FRAMES = FramesConfig(fps=4.0, max_frames=4)


def _items(root: Path) -> list[dict]:
    clip = next(read_jsonl(root / "catalog.jsonl"))["video_path"]
    return [
        {
            "item_id": f"i{k}",
            "problem_id": f"i{k}",
            "problem_type": "multiple choice",
            "question": "What colour is the flame?",
            "options": ["A. red", "B. green", "C. violet", "D. white"],
            "solution": "A",
            "video_path": clip,
        }
        for k in range(2)
    ]


def _pads(solver: HFSolver, features: dict, token: str) -> int:
    processor = solver._model()[0]
    return int((features["input_ids"] == processor.tokenizer.convert_tokens_to_ids(token)).sum())


@pytest.mark.parametrize("family", ["tiny_qwen2_5_vl", "tiny_qwen3_vl"])
def test_hf_solver_sends_no_video_one_frame_or_the_planned_frames_and_the_filters_record_its_answers(
    family: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root = write_demo_inputs(tmp_path / "in").catalog.parent
    items = _items(root)
    solver = HFSolver(request.getfixturevalue(family), root, FRAMES, HFConfig(max_new_tokens=4, device="cpu"))
    merge = solver._model()[0].image_processor.merge_size ** 2

    text = solver.encode(items[0], "text")
    assert not {k for k in text if "pixel" in k or "grid" in k}
    assert _pads(solver, text, "<|video_pad|>") == _pads(solver, text, "<|image_pad|>") == 0

    frame = solver.encode(items[0], "frame")
    assert frame["image_grid_thw"].tolist()[0][0] == 1 and frame["image_grid_thw"].shape[0] == 1
    assert _pads(solver, frame, "<|image_pad|>") == int(frame["image_grid_thw"].prod()) // merge
    assert _pads(solver, frame, "<|video_pad|>") == 0

    video = solver.encode(items[0], "video")
    planned = len(planned_images(root / items[0]["video_path"], FRAMES)[0])
    grid = video["video_grid_thw"]
    assert planned > 1 and int(grid[:, 0].sum()) == planned // 2  # temporal patch 2
    assert _pads(solver, video, "<|video_pad|>") == int(grid.prod(dim=1).sum()) // merge

    report = video_dependency(items, solver, "text")
    assert report.status == "ran" and [a["item_id"] for a in report.answers] == ["i0", "i1"]
    assert all(isinstance(a, str) or a is None for row in report.answers for a in row["answers"])
    band = DifficultyConfig(model="hf", samples=2, temperature=0.7)
    sampled = difficulty(items, solver, QCConfig(difficulty=band))
    assert sampled.status == "ran" and all(len(a["answers"]) == 2 for a in sampled.answers)


def test_build_demo_with_a_solver_model_runs_qc_with_the_local_checkpoint(
    tiny_qwen2_5_vl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    argv = ["build", "demo", "--output", str(out), "--solver-model", str(tiny_qwen2_5_vl)]
    assert main([*argv, "qc.hf.max_new_tokens=4", "qc.hf.device=cpu", "qc.difficulty.samples=1"]) == 0
    report = json.loads((out / "qc" / "report.json").read_text())
    assert report["filters"]["video-dependency-text"]["status"] == "ran"
    assert report["filters"]["difficulty"]["status"] == "ran"
    answered = list(read_jsonl(out / "qc" / "answers.video-dependency-text.jsonl"))
    assert len(answered) == report["filters"]["video-dependency-text"]["checked"] > 0
    recipe = (out / "config.yaml").read_text()
    assert "solver: hf" in recipe and str(tiny_qwen2_5_vl) in recipe
