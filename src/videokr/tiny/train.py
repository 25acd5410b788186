"""The demo's base model: a tiny Qwen-VL that already perceives, plus the plain-PyTorch loop that trains and probes it.

`prepare_base_model` is called by the demo's first stage (videokr.run.demo); benchmarks/demo_learning.py and the
tests drive the loop directly.

The published SFT freezes the vision tower, as real base models already see (ENGINES.md 3b). A random tiny
checkpoint does not, so `prepare_base_model` gives it a short perception pre-training on caption clips
("The flame is yellow.", clips of their own, never used by SFT, RL or eval), with the vision tower trainable at a
higher learning rate. The base never sees the knowledge bank, the questions or the answer format, so it stays
near chance on the demo's multiple-choice questions.

Clips reach the model as the real processor path feeds them: PyAV frames with `VideoMetadata`,
`do_sample_frames=False`, a fixed pixel grid from the tiny processor, `mm_token_type_ids`, left padding.
"""

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from videokr.deps import require
from videokr.io import read_jsonl

log = logging.getLogger(__name__)

VIDEO_PLACEHOLDER = "<video>"
CAPTION_PROMPT = "<video>Describe the video."
# Caption prompts of growing length: the SFT, RL and eval prompts put ~100 tokens between the clip and the answer,
# and a base that only ever read the clip from a few tokens away loses it under SFT (benchmarks/demo_learning.py).
CAPTION_PROMPTS = (
    CAPTION_PROMPT,
    "<video>Watch the whole clip, from the first frame to the last one, and then describe what you saw in it.",
    "<video>Here is a short video clip. Watch it carefully from the first frame to the last one. Something in the "
    "middle of the frame is moving a little and changing its brightness over time, while the dark background stays "
    "noisy. When you have seen all of the frames, write one short sentence that says what the object in the video "
    "is and which colour it has, and nothing else. Keep the sentence simple and do not add any explanation.",
)


@dataclass(frozen=True)
class TrainSettings:
    """A plain-PyTorch training run: AdamW with linear warmup and cosine decay, two learning rates."""

    steps: int = 300
    batch_size: int = 16
    lr_text: float = 2e-3
    lr_vision: float = 1e-2  # the vision tower and merger; ignored when train_vision is False
    warmup_steps: int = 30
    weight_decay: float = 0.0
    train_vision: bool = True
    num_frames: int = 4
    seed: int = 0
    log_every: int = 50


@dataclass(frozen=True)
class Example:
    """One training or probing example: a clip, the user text (`<video>` marks the clip) and the target."""

    video: Path
    prompt: str
    target: str = ""


@dataclass(frozen=True)
class TrainResult:
    """Losses logged every `log_every` steps and the wall time of the loop."""

    losses: tuple[float, ...]
    seconds: float


def user_content(prompt: str) -> list[dict[str, Any]]:
    """Chat content items for `prompt`: the clip where `<video>` stands, else first (as lmms-eval sends it).

    >>> [item["type"] for item in user_content("<video>What?")], [item["type"] for item in user_content("What?")]
    (['video', 'text'], ['video', 'text'])
    """
    if VIDEO_PLACEHOLDER not in prompt:
        return [{"type": "video"}, {"type": "text", "text": prompt}]
    before, after = prompt.split(VIDEO_PLACEHOLDER, 1)
    items: list[dict[str, Any]] = [{"type": "text", "text": before}] if before else []
    items.append({"type": "video"})
    if after:
        items.append({"type": "text", "text": after})
    return items


def load_clip(path: Path, num_frames: int) -> tuple[Any, Any]:
    """Frames (T x H x W x 3) and their VideoMetadata, decoded with PyAV."""
    from videokr.tiny.frames import frames_metadata, read_frames

    frames, fps = read_frames(path, num_frames)
    return frames, frames_metadata(frames, fps)


def encode_examples(
    processor: Any, examples: Sequence[Example], num_frames: int, *, with_targets: bool
) -> list[dict[str, Any]]:
    """Processor features per example (decoded once), with `labels` masking the prompt when `with_targets`."""
    torch = require("torch")
    encoded = []
    cache: dict[Path, tuple[Any, Any]] = {}
    for example in tqdm(examples, desc="encode", unit="ex", disable=len(examples) < 200):
        if example.video not in cache:
            cache[example.video] = load_clip(example.video, num_frames)
        frames, metadata = cache[example.video]
        messages = [{"role": "user", "content": user_content(example.prompt)}]
        prompt_text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        text = prompt_text + (example.target + "<|im_end|>" if with_targets else "")
        features = _process(processor, text, frames, metadata)
        item = {key: value for key, value in features.items() if key != "attention_mask"}
        if with_targets:
            # the prompt's length with the video pads expanded, as the processor counts them
            n_prompt = _process(processor, prompt_text, frames, metadata)["input_ids"].shape[1]
            item["labels"] = item["input_ids"].clone()
            item["labels"][0, :n_prompt] = -100
        item["input_ids"] = item["input_ids"].to(torch.long)
        encoded.append(item)
    return encoded


def _process(processor: Any, text: str, frames: Any, metadata: Any) -> Any:
    return processor(
        text=[text], videos=[frames], video_metadata=[metadata], do_sample_frames=False, return_tensors="pt"
    )


def collate(items: Sequence[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Left-pad a batch of encoded examples; video tensors are concatenated in order."""
    torch = require("torch")
    width = max(item["input_ids"].shape[1] for item in items)
    batch: dict[str, Any] = {}
    fills = {"input_ids": pad_id, "labels": -100, "mm_token_type_ids": 0}
    for key, fill in fills.items():
        if key in items[0]:
            rows = [
                torch.nn.functional.pad(item[key][0], (width - item[key].shape[1], 0), value=fill) for item in items
            ]
            batch[key] = torch.stack(rows)
    lengths = [item["input_ids"].shape[1] for item in items]
    batch["attention_mask"] = torch.tensor([[0] * (width - n) + [1] * n for n in lengths], dtype=torch.long)
    for key in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts"):
        if key in items[0]:
            batch[key] = torch.cat([item[key] for item in items])
    return batch


def _param_groups(model: Any, settings: TrainSettings) -> list[dict[str, Any]]:
    vision: list[Any] = []
    text: list[Any] = []
    for name, param in model.named_parameters():
        is_vision = ".visual." in f".{name}"  # model.visual.* in transformers 5 (vision tower and merger)
        if is_vision and not settings.train_vision:
            param.requires_grad_(False)
            continue
        param.requires_grad_(True)
        (vision if is_vision else text).append(param)
    groups = [{"params": text, "lr": settings.lr_text}]
    if vision:
        groups.append({"params": vision, "lr": settings.lr_vision})
    return groups


def train(
    model: Any,
    processor: Any,
    encoded: Sequence[dict[str, Any]],
    settings: TrainSettings,
    callback: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train `model` in place on encoded examples (random batches) for `settings.steps` steps.

    `callback(step)` runs after every step (the benchmark probes accuracy from it; the model is then in train mode).
    """
    torch = require("torch")
    groups = _param_groups(model, settings)
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    base_lrs = [group["lr"] for group in groups]
    rng = random.Random(settings.seed)
    pad_id = processor.tokenizer.pad_token_id
    model.train()
    losses, running, started = [], 0.0, time.perf_counter()
    for step in tqdm(range(settings.steps), desc="train", unit="step"):
        scale = _lr_scale(step, settings.steps, settings.warmup_steps)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * scale
        batch = collate(rng.sample(list(encoded), min(settings.batch_size, len(encoded))), pad_id)
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += float(loss.detach())
        if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
            count = (step % settings.log_every) + 1
            losses.append(running / count)
            log.info("step %d loss %.4f", step + 1, running / count)
            running = 0.0
        if callback is not None:
            callback(step + 1)
    model.eval()
    return TrainResult(tuple(losses), time.perf_counter() - started)


def _lr_scale(step: int, total: int, warmup: int) -> float:
    """Linear warmup then cosine decay to 0.

    >>> _lr_scale(0, 100, 10), _lr_scale(10, 100, 10), _lr_scale(100, 100, 10)
    (0.1, 1.0, 0.0)
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def generate(
    model: Any, processor: Any, encoded: Sequence[dict[str, Any]], max_new_tokens: int = 48, batch_size: int = 16
) -> list[str]:
    """Greedy completions (special tokens dropped) for encoded prompts, in order."""
    torch = require("torch")
    tokenizer = processor.tokenizer
    vision_ids = [
        tokenizer.convert_tokens_to_ids(t)
        for t in ("<|vision_start|>", "<|vision_end|>", "<|video_pad|>", "<|image_pad|>", "<|vision_pad|>")
    ]
    outputs: list[str] = []
    model.eval()
    for start in range(0, len(encoded), batch_size):
        batch = collate(encoded[start : start + batch_size], tokenizer.pad_token_id)
        with torch.no_grad():
            sequences = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                suppress_tokens=vision_ids,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=[tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.pad_token_id],
            )
        new = sequences[:, batch["input_ids"].shape[1] :]
        outputs.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
    return outputs


def caption_examples(caption_file: Path, video_root: Path) -> list[Example]:
    """Perception examples from the corpus's caption rows."""
    return [
        Example(video_root / row["video_path"], CAPTION_PROMPTS[index % len(CAPTION_PROMPTS)], row["caption"])
        for index, row in enumerate(read_jsonl(caption_file))
    ]


def tokenizer_texts() -> list[str]:
    """Demo strings for the tiny tokenizer's BPE corpus (questions, options, thinks, captions)."""
    from videokr.data.synth import FLAMES, QUESTIONS, SKILLS, answer_value, caption_text, think_text

    texts = [*CAPTION_PROMPTS, *QUESTIONS.values()]
    for flame in FLAMES:
        texts.append(caption_text(flame))
        for skill in SKILLS:
            texts += [
                think_text(flame, skill),
                f"A. {answer_value(flame, skill)}",
                f"<answer>{answer_value(flame, skill)}</answer>",
            ]
    return texts * 4


def prepare_base_model(
    out: str | Path,
    caption_file: str | Path,
    video_root: str | Path,
    *,
    family: str = "qwen3_vl",
    size: str = "demo",
    settings: TrainSettings | None = None,
    overwrite: bool = False,
) -> Path:
    """Build a tiny checkpoint at `out` and give it the perception stage; returns `out` (an HF checkpoint)."""
    torch = require("torch")
    transformers = require("transformers")
    from videokr.tiny import build_tiny_model

    settings = settings or TrainSettings()
    target = build_tiny_model(out, family, size, settings.seed, extra_text=tokenizer_texts(), overwrite=overwrite)  # type: ignore[arg-type]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        processor = transformers.AutoProcessor.from_pretrained(target)
        model = transformers.AutoModelForImageTextToText.from_pretrained(target, dtype=torch.float32)
        examples = caption_examples(Path(caption_file), Path(video_root))
        result = train(
            model, processor, encode_examples(processor, examples, settings.num_frames, with_targets=True), settings
        )
    log.info("perception stage: %d steps in %.1f s, last loss %.4f", settings.steps, result.seconds, result.losses[-1])
    model.save_pretrained(target)
    return target
