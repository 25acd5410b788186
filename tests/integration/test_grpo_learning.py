"""GRPO through the real verl main_ppo on CPU learns a task whose answer is in the video.

Task: "What colour is the flame in the video? A. red / B. green" (options always in that order), over the demo's
flame clips (videokr.data.synth.flame_painter); only the clip tells the letter. The start is a model that already
*perceives*: the demo's base (`videokr.tiny.train.prepare_base_model`, a short caption pre-training on clips of all six
flame colours, none of them used below). A short supervised warm-up then teaches the answer format
`<think>The flame is <colour>.</think>\n<answer>X</answer>` with the letter a fair coin flip (both letters are
trained for every clip), so the starting policy sees the colour but picks the letter at chance (reward ~0.55 =
0.1 format + 0.9 x 1/2). GRPO with videokr's `compute_score` (PROTOCOL.md section 5) can only raise the reward by
mapping what it sees to the letter. (Earlier attempts from a random vision tower did not learn within a CPU budget:
0.37 -> 0.42 over 40 steps on a clip-length task, 0.38 -> 0.41 over 25 steps on a red/blue task.)
"""

import os
import random
from pathlib import Path

import pytest
import yaml

from videokr.cli import main
from videokr.data.synth import FLAMES, flame_painter, generate_demo_corpus, write_video
from videokr.io import read_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPTIONS = {"A": FLAMES[0], "B": FLAMES[3]}  # red, green
QUESTION = (
    "<video>\nWhat colour is the flame in the video?\nOptions:\nA. red\nB. green\n"
    "Think first, then answer with the letter."
)
VIDEO = {"fps": 2.0, "min_frames": 4, "max_frames": 4, "min_pixels": 4096, "max_pixels": 4096}  # the demo's grid
STEPS = int(os.environ.get("VIDEOKR_LEARNING_STEPS", "60"))


def write_task(root: Path, n_train: int = 32, n_test: int = 4, seed: int = 1000) -> Path:
    """train/test parquet in prepare-rl's row format (PROTOCOL.md section 4) over red / green flame clips."""
    import pandas as pd

    records = []
    for i in range(n_train + n_test):
        letter = "AB"[i % 2]
        painter = flame_painter(64, 64, OPTIONS[letter].rgb, seed=seed + 7 * i)
        clip = write_video(root / "clips" / f"c{i}.mp4", width=64, height=64, fps=4.0, seconds=2.0, painter=painter)
        records.append(
            {
                "data_source": "videokr",
                "prompt": [{"role": "user", "content": QUESTION}],
                "videos": [{"video": str(clip), **VIDEO}],
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


def perceiving_base(root: Path, caption_steps: int = 300) -> Path:
    """The demo's base model: a tiny Qwen3-VL whose vision tower was trained to caption flame colours."""
    from videokr.tiny.train import TrainSettings, prepare_base_model

    corpus = generate_demo_corpus(root / "corpus", n_train=1, n_rl=0, n_eval=1, n_caption=120, blank=False)
    settings = TrainSettings(steps=caption_steps, batch_size=16, lr_text=2e-3, lr_vision=1e-2, warmup_steps=30)
    return prepare_base_model(
        root / "base", corpus.caption_file, corpus.video_root, family="qwen3_vl", size="small", settings=settings
    )


def warm_up_format(
    model_dir: Path,
    parquet: Path,
    out: Path,
    steps: int = 250,
    clips_per_step: int = 2,
    lr: float = 3e-3,
    seed: int = 0,
) -> Path:
    """Teach `<think>The flame is C.</think>\\n<answer>A|B</answer>` with the letter a fair coin flip per clip.

    Trained on the exact inputs verl's rollouts see (its RLHFDataset and processor path); the vision tower is frozen.
    """
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
    for name, param in model.named_parameters():
        param.requires_grad_(".visual." not in f".{name}")
    config = OmegaConf.create(
        {
            "max_prompt_length": 1024,
            "return_raw_chat": True,
            "filter_overlong_prompts": False,
            "cache_dir": str(out.parent / "cache"),
        }
    )
    dataset = RLHFDataset(str(parquet), processor.tokenizer, config, processor=processor)
    # per clip, both answers encoded once: (inputs, labels) with the prompt masked
    examples = []
    for index in range(len(dataset)):
        row = dataset[index]
        messages = row["raw_prompt"]
        _, videos = asyncio.run(dataset.process_vision_info(messages, dataset.image_patch_size, dataset.config))
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_len = len(build_multimodal_processor_inputs(processor, text=[prompt], videos=videos)["input_ids"][0])
        colour = OPTIONS[row["extra_info"]["answer"]].colour
        pair = []
        for letter in "AB":  # both answers for the same clip: the optimum is a coin flip that ignores the video
            target = f"<think>The flame is {colour}.</think>\n<answer>{letter}</answer><|im_end|>"
            inputs = build_multimodal_processor_inputs(processor, text=[prompt + target], videos=videos)
            labels = inputs["input_ids"].clone()
            labels[:, :prompt_len] = -100
            pair.append((inputs, labels))
        examples.append(pair)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    # decay to zero so the letter settles at the fair coin instead of swinging with the last examples
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    model.train()
    for _ in range(steps):
        for pair in rng.sample(examples, clips_per_step):
            for inputs, labels in pair:
                (model(**inputs, labels=labels).loss / (2 * clips_per_step)).backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


# Slow (~8 minutes on 2 cores), and part of `make test`. Measured from the perceiving base (the warmed-up model
# writes the right colour in <think> for every clip, the letter at chance), 8 clips x 8 rollouts a step:
#   one update a step (mini-batch 8), lr 7e-4, vision frozen, 40 steps: 0.513 over the first 5 -> 0.601 over the last 5
#   four updates a step (mini-batch 2), lr 7e-4, vision frozen, 60 steps: 0.488 -> 0.960 (0.79 after 40 steps);
#   the same in fresh-clone CI runs: 0.504 -> 0.773 and 0.493 -> 0.626 (a failure), while rollouts and the rows'
#   order followed arrival time; with content-seeded rollouts and verl's rows in dataloader order
#   (videokr.plugins.verl_replay) every run is the same: 0.488 -> 0.990
#   (lr 1e-3 with the vision tower trained broke the format; lr 2e-3 frozen dipped to 0.27 and stayed at 0.48)
# VIDEOKR_LEARNING_LR / VIDEOKR_LEARNING_STEPS override lr and steps while working on it.
def test_grpo_raises_reward_on_a_video_dependent_task(tmp_path):
    data = write_task(tmp_path)
    base = perceiving_base(tmp_path)
    start = warm_up_format(base, data / "train.parquet", tmp_path / "warm")
    run = tmp_path / "run"
    recipe = {
        "name": "learn",
        "output_dir": str(run),
        "model": {"path": str(start), "family": "qwen3_vl"},
        "grpo": {
            "device": "cpu",
            "data_dir": str(data),
            "output_dir": str(run / "grpo" / "checkpoints"),
            "lr": float(os.environ.get("VIDEOKR_LEARNING_LR", "7e-4")),
            "total_epochs": 100,
            "total_training_steps": STEPS,
            "train_batch_size": 8,
            "rollout_n": 8,
            # four policy updates per batch of rollouts: generation dominates a CPU step, updates are cheap
            "ppo_mini_batch_size": 2,
            "ppo_micro_batch_size_per_gpu": 16,
            "log_prob_micro_batch_size_per_gpu": 64,
            "max_prompt_length": 512,
            "max_response_length": 24,
            "kl_loss_coef": 0.0,
            "use_kl_loss": False,
            "save_freq": -1,
            "test_freq": -1,
            "passthrough": {
                "actor_rollout_ref.actor.freeze_vision_tower": True,  # keep the perception the base already has
                "actor_rollout_ref.actor.optim.lr_warmup_steps": 3,
                "trainer.rollout_data_dir": str(run / "rollouts"),
            },
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", "grpo", str(tmp_path / "recipe.yaml")]) == 0

    rows = list(read_jsonl(run / "grpo" / "metrics.jsonl"))
    rewards = [row["critic/score/mean"] for row in rows]
    print("rewards per step:", " ".join(f"{r:.2f}" for r in rewards))
    assert len(rewards) == STEPS
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    last_rollouts = list(read_jsonl(run / "rollouts" / f"{STEPS}.jsonl"))
    print("last step's first rollouts:", [(row["output"], row["gts"], row["score"]) for row in last_rollouts[:4]])
    print(f"mean reward: first 5 steps {first:.3f}, last 5 steps {last:.3f}")
    # Chance with the warmed-up format is 0.55 (0.1 + 0.9 x 1/2); only reading the clip ends clearly above it. Five
    # steps are 320 rollouts, so a mean's standard error is about 0.025: 0.7 is six of them above chance.
    assert 0.3 < first < 0.75
    assert last > first + 0.15 and last > 0.7
