"""Check that a merged checkpoint is a working Hugging Face model: it loads and generates from a video prompt."""

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from videokr.deps import require
from videokr.errors import EngineError

logger = logging.getLogger(__name__)

QUESTION = "What is shown in the video?"


@dataclass(frozen=True)
class GenerateCheck:
    """What the check saw: the model class, parameter count, and the generated token ids and text."""

    model_class: str
    parameters: int
    new_tokens: list[int]
    text: str


def check_generates(model_dir: str | Path, max_new_tokens: int = 8, frames: int = 4) -> GenerateCheck:
    """Load `model_dir` with AutoProcessor + AutoModelForImageTextToText and generate from a generated clip."""
    torch = require("torch")
    transformers = require("transformers")
    from videokr.data.synth import write_video
    from videokr.tiny.frames import frames_metadata, read_frames

    path = Path(model_dir)
    try:
        processor = transformers.AutoProcessor.from_pretrained(path)
        model = transformers.AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise EngineError(f"{path} does not load as a Hugging Face model: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_video(Path(tmp) / "check.mp4", width=64, height=64, fps=4.0, seconds=2.0)
        video, fps = read_frames(clip, frames)
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": QUESTION}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(
        text=[text],
        videos=[video],
        video_metadata=[frames_metadata(video, fps)],
        do_sample_frames=False,
        return_tensors="pt",
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :].tolist()
    if not new:
        raise EngineError(f"{path} loaded but generated no tokens")
    decoded = processor.tokenizer.decode(new, skip_special_tokens=False)
    count = sum(p.numel() for p in model.parameters())
    logger.info("%s: %s (%d parameters) generated %r", path, type(model).__name__, count, decoded)
    return GenerateCheck(type(model).__name__, count, new, decoded)
