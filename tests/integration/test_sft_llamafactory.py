"""Real LLaMA-Factory on CPU: a few full-SFT steps of tiny Qwen2.5-VL / Qwen3-VL on prepare-sft output.

Checks what SFT must do: the run exits 0 through `videokr train sft` (a one-stage run of the recipe, recorded in the
run's manifest), writes command.sh and engine.log in <output_dir>/sft, saves a
checkpoint that AutoModelForImageTextToText reloads and that generates from a video, the language model moved
and the frozen vision tower and projector did not (PROTOCOL.md section 7).
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from videokr.cli import main
from videokr.data.sft import prepare_sft
from videokr.engines.verl_check import check_generates

pytestmark = pytest.mark.integration

ROWS = [
    {
        "problem_id": "mc-1",
        "problem_type": "multiple choice",
        "question": "What colour is the moving square?",
        "options": ["A. red", "B. orange", "C. blue", "D. green"],
        "solution": "B",
        "think": "The square looks orange.",
        "video_path": "square_8fps.mp4",
    },
    {
        "problem_id": "oe-1",
        "problem_type": "open-ended",
        "question": "Which way does the square move?",
        "solution": "down and right",
        "think": "It drifts toward the bottom right corner.",
        "video_path": "odd_12fps.mp4",
    },
    {
        "problem_id": "mc-2",
        "problem_type": "multiple choice",
        "question": "How many squares are there?",
        "options": ["A. one", "B. two"],
        "solution": "A",
        "think": "Only one square is drawn.",
        "video_path": "wide_25fps.mp4",
    },
]


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory: pytest.TempPathFactory, good_videos: dict[str, Path]) -> Path:
    """prepare-sft output (dataset_info.json + sharegpt json) for three rows with generated videos."""
    root = tmp_path_factory.mktemp("sft-corpus")
    for name in ("square_8fps", "odd_12fps", "wide_25fps"):
        shutil.copy(good_videos[name], root / f"{name}.mp4")
    corpus = root / "cot.jsonl"
    corpus.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    result = prepare_sft(corpus, root / "data", video_root=root)
    assert result.written == len(ROWS)
    return root / "data"


def _weights(model_dir: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    tensors: dict[str, Any] = {}
    for shard in sorted(model_dir.glob("*.safetensors")):
        tensors.update(load_file(str(shard)))
    return tensors


def _changed(before: dict[str, Any], after: dict[str, Any], visual: bool) -> tuple[int, int]:
    # Vision tower and projector (merger) live under `visual` in both families; everything else is the LLM.
    names = [n for n in before if ("visual" in n) == visual and n in after]
    moved = sum(1 for n in names if not before[n].float().equal(after[n].float()))
    return moved, len(names)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_train_sft_cli_runs_llamafactory_and_checkpoint_generates(
    tmp_path: Path, family: str, sft_data: Path, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(f"tiny_{family}")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"output_dir: {tmp_path}\nmodel:\n  path: {base}\n  family: {family}\nsft:\n  dataset_dir: {sft_data}\n"
    )
    overrides = [
        "sft.device=cpu",
        "sft.max_steps=2",
        "sft.gradient_accumulation_steps=1",
        "sft.learning_rate=1e-3",  # large enough that two steps visibly move the weights
        "sft.warmup_ratio=0",
        "sft.cutoff_len=2048",
        "sft.video_maxlen=4",
        "sft.video_max_pixels=4096",
        "sft.logging_steps=1",
        "sft.save_steps=1000",
        "sft.gradient_checkpointing=false",
    ]
    assert main(["train", "sft", str(recipe), *overrides]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["sft"]["outputs"]["checkpoint"] == str(tmp_path / "sft" / "checkpoint")

    stage = tmp_path / "sft"
    ckpt = stage / "checkpoint"
    log = (stage / "engine.log").read_text()
    assert "exit code 0" in log and "train_loss" in log
    assert "llamafactory-cli train" in (stage / "command.sh").read_text()
    before, after = _weights(base), _weights(ckpt)
    moved_llm, n_llm = _changed(before, after, visual=False)
    moved_vision, n_vision = _changed(before, after, visual=True)
    assert n_llm > 0 and moved_llm > 0, "full SFT must update the language model"
    assert n_vision > 0 and any("merger" in n for n in before) and moved_vision == 0, (
        "the vision tower and projector are frozen"
    )
    check = check_generates(ckpt, max_new_tokens=4)
    assert check.model_class.endswith("ForConditionalGeneration") and 1 <= len(check.new_tokens) <= 4
