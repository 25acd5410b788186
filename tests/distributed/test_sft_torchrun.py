"""`videokr train sft` with two torchrun processes on CPU (gloo): the launch videokr renders for several GPUs.

Proves on CPU: the rendered torchrun launch (FORCE_TORCHRUN, NNODES, NPROC_PER_NODE, MASTER_ADDR/PORT) starts two
ranks that both train, the checkpoint is written once, and the losses equal a one-process run with the same
global batch. Only a GPU cluster proves NCCL, DeepSpeed ZeRO-3 sharding and several hosts.
"""

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from videokr.cli import main
from videokr.data.sft import prepare_sft

pytestmark = [pytest.mark.distributed, pytest.mark.integration]

CLIPS = ("square_8fps", "odd_12fps", "wide_25fps", "long_4fps")


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory: pytest.TempPathFactory, good_videos: dict[str, Path]) -> Path:
    """prepare-sft output for four MC rows, one per clip (two global batches of two)."""
    root = tmp_path_factory.mktemp("sft-dist")
    rows = []
    for i, name in enumerate(CLIPS):
        shutil.copy(good_videos[name], root / f"{name}.mp4")
        rows.append(
            {
                "problem_id": f"mc-{i}",
                "problem_type": "multiple choice",
                "question": f"What colour is square number {i}?",
                "options": ["A. red", "B. orange", "C. blue", "D. green"],
                "solution": "ABCD"[i],
                "think": "The square looks " + ["red", "orange", "blue", "green"][i] + ".",
                "video_path": f"{name}.mp4",
            }
        )
    (root / "cot.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert prepare_sft(root / "cot.jsonl", root / "data", video_root=root).written == len(CLIPS)
    return root / "data"


def train(tmp_path: Path, name: str, base: Path, data: Path, *overrides: str) -> tuple[Path, float]:
    """Run `videokr train sft` with the run directory tmp_path/name; that directory and the wall time."""
    stage = tmp_path / name
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(
        f"output_dir: {stage}\nmodel:\n  path: {base}\n  family: qwen2_5_vl\n"
        f"sft:\n  dataset_dir: {data}\n  output_dir: {stage / 'checkpoint'}\n"
    )
    common = [
        "sft.device=cpu",
        "sft.max_steps=2",
        "sft.learning_rate=1e-3",  # large enough that step 2 sees the update of step 1
        "sft.warmup_ratio=0",
        "sft.lr_scheduler_type=constant",
        "sft.cutoff_len=2048",
        "sft.video_maxlen=4",
        "sft.video_max_pixels=4096",
        "sft.logging_steps=1",
        "sft.save_steps=2",
        "sft.gradient_checkpointing=false",
        "sft.gradient_accumulation_steps=1",
    ]
    started = time.monotonic()
    assert main(["train", "sft", str(recipe), *common, *overrides]) == 0
    return stage, time.monotonic() - started


def losses(stage: Path) -> list[float]:
    state = json.loads((stage / "checkpoint" / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def weights(model_dir: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return {k: v.float() for shard in sorted(model_dir.glob("*.safetensors")) for k, v in load_file(shard).items()}


def test_sft_two_ranks_match_one_process(
    tmp_path: Path, tiny_qwen2_5_vl: Path, sft_data: Path, free_port: Callable[[], int]
) -> None:
    two, two_s = train(
        tmp_path,
        "two",
        tiny_qwen2_5_vl,
        sft_data,
        "sft.per_device_train_batch_size=1",
        "sft.distributed.nproc_per_node=2",
        f"sft.distributed.master_port={free_port()}",
    )
    one, one_s = train(tmp_path, "one", tiny_qwen2_5_vl, sft_data, "sft.per_device_train_batch_size=2")
    print(f"sft: two ranks {two_s:.1f} s, one process {one_s:.1f} s")

    command = (two / "sft" / "command.sh").read_text()
    assert "FORCE_TORCHRUN=1" in command and "NPROC_PER_NODE=2" in command
    log = (two / "sft" / "engine.log").read_text()
    assert "world size: 2" in log and "Process rank: 0" in log and "Process rank: 1" in log  # both ranks trained
    # written once (by rank 0): as many saves as the one-process run (checkpoint-2, then the final model)
    saves = "Saving model checkpoint to"
    assert log.count(saves) == (one / "sft" / "engine.log").read_text().count(saves) == 2
    assert sorted(p.name for p in (two / "checkpoint").glob("checkpoint-*")) == ["checkpoint-2"]

    got, want = losses(two), losses(one)
    assert len(got) == len(want) == 2
    assert got == pytest.approx(want, rel=1e-4), (got, want)
    final_two, final_one = weights(two / "checkpoint"), weights(one / "checkpoint")
    assert final_two.keys() == final_one.keys()
    # Gradients are summed in another order across ranks; Adam's m / sqrt(v) turns that last-bit noise in
    # near-zero gradients into weight differences of a few 1e-6 (measured) against weights of ~0.1.
    assert all(final_two[k].allclose(final_one[k], rtol=1e-4, atol=2e-5) for k in final_one)
    assert any(not final_one[k].equal(weights(tiny_qwen2_5_vl)[k]) for k in final_one)  # training moved them
