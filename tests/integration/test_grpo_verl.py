"""`videokr train grpo` and `videokr merge` (one-stage runs of the recipe) through the real verl main_ppo on CPU.

Two GRPO steps on prepare-rl output with generated videos, a checkpoint, a resumed third step, then the merge to a
Hugging Face model that loads and generates. Each launch starts a Ray cluster: a few minutes per family on 2 cores.
"""

from pathlib import Path

import pytest
import yaml

from videokr.cli import main
from videokr.data.rl import prepare_rl
from videokr.io import read_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIPS = ["square_8fps", "odd_12fps", "long_4fps", "wide_25fps", "square_8fps", "odd_12fps", "square_8fps", "long_4fps"]


# What a step logs that must repeat exactly in a second run: the sampled answers' rewards and lengths, the losses.
REPEATED = ("critic/score/mean", "response_length/mean", "actor/pg_loss", "actor/grad_norm", "actor/entropy")


def write_recipe(tmp_path: Path, model: Path, family: str, data_dir: Path, run_name: str = "run") -> Path:
    run = tmp_path / run_name
    recipe = {
        "name": "grpo-test",
        "output_dir": str(run),
        "model": {"path": str(model), "family": family},
        "grpo": {
            "device": "cpu",
            "data_dir": str(data_dir),
            "output_dir": str(run / "grpo" / "checkpoints"),
            "experiment_name": f"test-{family}",
            "lr": 1e-3,
            "train_batch_size": 2,
            "rollout_n": 4,
            "ppo_mini_batch_size": 2,
            "ppo_micro_batch_size_per_gpu": 8,
            "log_prob_micro_batch_size_per_gpu": 8,
            "max_prompt_length": 1024,
            "max_response_length": 16,
            "save_freq": 2,
            "test_freq": -1,
        },
    }
    path = tmp_path / f"{run_name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.parametrize(
    "family", [pytest.param("qwen2_5_vl", id="qwen2.5-vl"), pytest.param("qwen3_vl", id="qwen3-vl")]
)
def test_train_grpo_two_steps_resume_third_and_merge(family, tmp_path, write_mc_corpus, request, capsys):
    from safetensors.torch import load_file

    model: Path = request.getfixturevalue(f"tiny_{family}")
    root = tmp_path / "corpus"
    src = write_mc_corpus(root, CLIPS)
    data = prepare_rl(src, tmp_path / "data", root, val_size=2, seed=1)
    assert data.train_rows == 6 and data.test_rows == 2
    recipe = write_recipe(tmp_path, model, family, tmp_path / "data")
    stage = tmp_path / "run" / "grpo"
    ckpt = stage / "checkpoints"

    assert main(["train", "grpo", str(recipe), "grpo.total_training_steps=2"]) == 0
    assert (ckpt / "global_step_2" / "actor").is_dir()
    assert (ckpt / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    rows = list(read_jsonl(stage / "metrics.jsonl"))
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:  # the reward, KL, rollout/actor agreement and timings verl logged for each step
        assert 0.0 <= row["critic/score/mean"] <= 1.0
        assert row["response_length/mean"] > 0 and row["timing_s/gen"] > 0
        assert row["training/rollout_probs_diff_mean"] < 1e-3
    assert (stage / "command.sh").is_file() and "verl.trainer.main_ppo" in (stage / "command.sh").read_text()

    # a second run from scratch repeats the first bitwise (seeded rollouts, rows in dataloader order)
    again = write_recipe(tmp_path, model, family, tmp_path / "data", run_name="again")
    assert main(["train", "grpo", str(again), "grpo.total_training_steps=2", "grpo.save_freq=-1"]) == 0
    rows_again = list(read_jsonl(tmp_path / "again" / "grpo" / "metrics.jsonl"))
    assert [[r[k] for k in REPEATED] for r in rows_again] == [[r[k] for k in REPEATED] for r in rows]

    assert main(["train", "grpo", str(recipe), "grpo.total_training_steps=3"]) == 0
    assert (
        "Resuming from" in (stage / "engine.log").read_text() and "global_step_2" in (stage / "engine.log").read_text()
    )
    assert (ckpt / "global_step_3" / "actor").is_dir()
    assert [r["step"] for r in read_jsonl(stage / "metrics.jsonl")] == [1, 2, 3]
    assert "grpo finished at step 3" in capsys.readouterr().out
    assert main(["train", "grpo", str(recipe), "grpo.total_training_steps=3"]) == 0
    assert "grpo: unchanged" in capsys.readouterr().out, "the same stage again is skipped"

    out = tmp_path / "hf"
    assert main(["merge", str(tmp_path / "run"), f"merge.target_dir={out}"]) == 0  # the run directory as recipe
    assert "loads and generates" in capsys.readouterr().out
    merged, original = load_file(out / "model.safetensors"), load_file(model / "model.safetensors")
    assert merged.keys() == original.keys()
    assert any(not merged[k].float().allclose(original[k].float()) for k in merged)  # GRPO changed the weights
