"""GRPO through the real verl main_ppo on CPU learns a task whose answer is in the video.

Task: is the clip short (1 s) or long (4 s)? `A. short` / `B. long`; every clip is one flat colour drawn from a
fixed cycle, so only the clip's length (its number of frames, hence of video tokens) tells the answer; the question
text is identical for every row. The reward is videokr's `compute_score` (PROTOCOL.md section 5). A random tiny
model never writes `<answer>X</answer>`, so a short supervised warm-up (plain PyTorch, on verl's own dataset inputs)
teaches the answer *format* as a fair coin flip between the letters: the starting policy is right about half of the
time (reward ~0.45) and GRPO can only raise the reward by reading the video. (A red/blue colour task was tried
first: within a CPU-sized budget GRPO did not teach a random vision tower to see colour; reward stayed ~0.4.)
"""

import os
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from videokr.cli import main
from videokr.data.synth import write_video
from videokr.io import read_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COLOURS = [(230, 20, 20), (20, 20, 230), (20, 200, 20), (220, 220, 30)]
SECONDS = {"A": 1.0, "B": 4.0}
QUESTION = "<video>\nIs this clip short or long?\nOptions:\nA. short\nB. long\nAnswer with the letter."
STEPS = 40


def flat_painter(rgb: tuple[int, int, int], seed: int):
    """Whole frames of one colour with light noise: the colour is the only thing that tells the answer."""
    noise = np.random.default_rng(seed).integers(0, 24, size=(32, 32, 3), dtype=np.uint8)
    frame = np.clip(noise.astype(np.int16) + np.array(rgb, dtype=np.int16), 0, 255).astype(np.uint8)
    return lambda index: frame


def write_task(root: Path, n_train: int = 48, n_test: int = 4) -> Path:
    """train/test parquet in prepare-rl's row format (PROTOCOL.md section 4) over short / long flat-colour clips."""
    import pandas as pd

    records = []
    for i in range(n_train + n_test):
        letter = "AB"[i % 2]
        painter = flat_painter(COLOURS[(i // 2) % len(COLOURS)], seed=i)
        seconds = SECONDS[letter]
        clip = write_video(
            root / "clips" / f"c{i}.mp4", width=32, height=32, fps=4.0, seconds=seconds, painter=painter
        )
        video = {
            "video": str(clip),
            "fps": 2.0,
            "min_frames": 2,
            "max_frames": 8,
            "min_pixels": 3136,
            "max_pixels": 3136,
        }
        records.append(
            {
                "data_source": "videokr",
                "prompt": [{"role": "user", "content": QUESTION}],
                "videos": [video],
                "ability": "video_qa",
                "reward_model": {"style": "rule", "ground_truth": f"<answer>{letter}</answer>"},
                "extra_info": {"problem_id": f"p{i}", "problem_type": "multiple choice", "answer": letter, "index": i},
            }
        )
    data = root / "data"
    data.mkdir()
    pd.DataFrame(records[:n_train]).to_parquet(data / "train.parquet")
    pd.DataFrame(records[n_train:]).to_parquet(data / "test.parquet")
    return data


def warm_up_format(model_dir: Path, parquet: Path, out: Path, steps: int = 120, seed: int = 0) -> Path:
    """Teach `<answer>A|B</answer>` as a fair coin flip per clip, on the exact inputs verl's rollouts see."""
    import asyncio

    import torch
    from omegaconf import OmegaConf
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import build_multimodal_processor_inputs

    torch.manual_seed(seed)
    rng = random.Random(seed)
    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    config = OmegaConf.create(
        {
            "max_prompt_length": 1024,
            "return_raw_chat": True,
            "filter_overlong_prompts": False,
            "cache_dir": str(out.parent / "cache"),
        }
    )
    dataset = RLHFDataset(str(parquet), processor.tokenizer, config, processor=processor)
    examples = []
    for index in range(len(dataset)):
        messages = dataset[index]["raw_prompt"]
        _, videos = asyncio.run(dataset.process_vision_info(messages, dataset.image_patch_size, dataset.config))
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        examples.append((prompt, videos))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    # decay to zero so the letter settles at the fair coin instead of swinging with the last examples
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    model.train()
    for _ in range(steps):
        prompt, videos = rng.choice(examples)
        prompt_len = len(build_multimodal_processor_inputs(processor, text=[prompt], videos=videos)["input_ids"][0])
        for letter in "AB":  # both answers for the same clip: the optimum is a coin flip that ignores the video
            inputs = build_multimodal_processor_inputs(
                processor, text=[f"{prompt}<answer>{letter}</answer><|im_end|>"], videos=videos
            )
            labels = inputs["input_ids"].clone()
            labels[:, :prompt_len] = -100
            (model(**inputs, labels=labels).loss / 2).backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


# Opt-in, not part of `make test`: the rise is not reached yet on CPU within a CI budget (measured mean reward
# 0.37 over the first 5 steps -> 0.42 over the last 5 of 40 on this duration task, 0.38 -> 0.41 over 25 steps on a
# red/blue colour task, ~10 s per step on a loaded 2-core machine, ~13 minutes a run). Run it with
# VIDEOKR_LEARNING_TESTS=1 while working on it; issue 7 stays open until it passes.
@pytest.mark.skipif(os.environ.get("VIDEOKR_LEARNING_TESTS") != "1", reason="opt-in: VIDEOKR_LEARNING_TESTS=1")
def test_grpo_raises_reward_on_a_video_dependent_task(tmp_path, tiny_qwen2_5_vl):
    data = write_task(tmp_path)
    start = warm_up_format(tiny_qwen2_5_vl, data / "train.parquet", tmp_path / "warm")
    run = tmp_path / "run"
    recipe = {
        "name": "learn",
        "output_dir": str(run),
        "model": {"path": str(start), "family": "qwen2_5_vl"},
        "grpo": {
            "device": "cpu",
            "data_dir": str(data),
            "output_dir": str(run / "grpo" / "checkpoints"),
            "lr": 1e-3,
            "total_epochs": 100,
            "total_training_steps": STEPS,
            "train_batch_size": 8,
            "rollout_n": 8,
            "ppo_mini_batch_size": 8,
            "ppo_micro_batch_size_per_gpu": 64,
            "log_prob_micro_batch_size_per_gpu": 64,
            "max_prompt_length": 512,
            "max_response_length": 8,
            "kl_loss_coef": 0.0,
            "use_kl_loss": False,
            "save_freq": -1,
            "test_freq": -1,
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", "grpo", str(tmp_path / "recipe.yaml")]) == 0

    rewards = [row["critic/score/mean"] for row in read_jsonl(run / "grpo" / "metrics.jsonl")]
    assert len(rewards) == STEPS
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    print(f"mean reward: first 5 steps {first:.3f}, last 5 steps {last:.3f}")
    # Chance with the warmed-up format is 0.45 (0.9 x 1/2); only reading the clip ends clearly above it.
    assert 0.2 < first < 0.7
    assert last > first + 0.15 and last > 0.7
