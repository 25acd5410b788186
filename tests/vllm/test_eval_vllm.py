"""`videokr eval` on vLLM (CPU): videokr's lmms-eval model answers every row of both families through the same
videokr_eval task and scoring as the HF path; lmms-eval's own `vllm_generate` fails on Qwen2.5-VL videos.

One lmms-eval launch (one vLLM engine start, 40-60 s) per test; each runs every row in a single chunk.
"""

import argparse
import json
import shutil
from pathlib import Path

import pytest

from videokr.cli.eval import add_launch_arguments, launch_eval
from videokr.data.synth import write_video
from videokr.engines.lmms_eval import ANSWERS_FILE
from videokr.errors import EngineError
from videokr.prompts import render_prompt
from videokr.records import Sample

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ROWS = [
    {"problem_id": "v1", "problem_type": "multiple choice", "question": "Colour of the square?",
     "options": ["A. red", "B. orange"], "solution": "B", "video_path": "square.mp4", "subject": "Physics"},
    {"problem_id": "v2", "problem_type": "open-ended", "question": "Which way does it move?", "solution": "down",
     "video_path": "Videos/odd.mp4", "subject": "Chemistry"},
    {"problem_id": "v3", "problem_type": "multiple choice", "question": "How many squares?",
     "options": ["A. one", "B. two"], "solution": "A", "video_path": "wide", "subject": "Physics"},
]  # fmt: skip


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three VideoKR_eval rows over clips of different sizes and frame rates (one under Videos/, one without suffix)."""
    root = tmp_path_factory.mktemp("vllm-eval")
    (root / "Videos").mkdir()
    write_video(root / "square.mp4", width=64, height=64, fps=8.0, seconds=2.0, gop=12)
    write_video(root / "Videos" / "odd.mp4", width=112, height=84, fps=12.0, seconds=3.0, gop=6)
    write_video(root / "wide.mp4", width=160, height=90, fps=25.0, seconds=1.6, gop=25)
    data = root / "VideoKR_eval.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return data


def _eval(model: Path, data: Path, out: Path, backend: str) -> int:
    parser = argparse.ArgumentParser()
    add_launch_arguments(parser)
    args = parser.parse_args(
        ["--model", str(model), "--data", str(data), "--output-dir", str(out), "--device", "cpu",
         "--backend", backend, "--chunk-size", "0",
         "--set", "generation.max_new_tokens=8", "--set", "generation.max_frames=4"]
    )  # fmt: skip
    return launch_eval(args)


def _samples(out: Path) -> list[dict]:
    lines = []
    for path in out.glob("chunks/*/lmms_eval/**/*_samples_videokr_eval.jsonl"):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_videokr_vllm_model_evaluates_both_families_on_cpu(
    family: str, vllm_python: str, demo_models, eval_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    assert _eval(demo_models(family), eval_data, out, "vllm") == 0
    command = (out / "chunks" / "0000" / "command.sh").read_text()
    assert f"{vllm_python} -m lmms_eval --model videokr_vllm" in command
    assert "enforce_eager=True" in command and "kv_cache_memory_bytes=1073741824" in command
    answers = [json.loads(line) for line in (out / ANSWERS_FILE).read_text().splitlines()]
    assert sorted(a["id"] for a in answers) == ["v1", "v2", "v3"]
    assert all(isinstance(a["prediction"], str) for a in answers)
    # the published eval prompt reached the model through the same task as on the HF path
    inputs = {line["videokr_acc"]["problem_id"]: line["input"] for line in _samples(out)}
    assert inputs == {r["problem_id"]: render_prompt(Sample.from_raw(r), "eval") for r in ROWS}
    metrics = json.loads((out / "scores" / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_scored"], metrics["n_skipped"]) == (3, 2, 1)
    log = (out / "chunks" / "0000" / "engine.log").read_text()
    assert "Video metadata is required" not in log


def test_lmms_eval_vllm_generate_fails_on_qwen2_5_vl_videos(
    vllm_python: str, demo_models, eval_data: Path, tmp_path: Path
) -> None:
    """The upstream failure the videokr model exists for (README, "Evaluation on vLLM"): if this starts passing,
    lmms-eval sends the metadata itself and the choice of default can be revisited."""
    out = tmp_path / "eval"
    single = tmp_path / "one.jsonl"
    single.write_text(eval_data.read_text().splitlines()[0] + "\n")
    shutil.copy(eval_data.parent / "square.mp4", tmp_path / "square.mp4")
    with pytest.raises(EngineError, match="have no answer"):
        _eval(demo_models("qwen2_5_vl"), single, out, "vllm_generate")
    log = (out / "chunks" / "0000" / "engine.log").read_text()
    assert "Video metadata is required but not found in mm input" in log
