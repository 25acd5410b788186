"""The `hf` solver: a local Qwen-VL checkpoint answers qc's questions through transformers' generate.

It goes the evaluation's way end to end: the item becomes the canonical record (`Sample`), the eval prompt comes
from videokr.prompts, the reply's answer from videokr.answers (`extract_eval_answer`, the evaluator's rule), the
checkpoint loads with AutoProcessor + AutoModelForImageTextToText as the merge check and the demo's base model do,
and the frames are the build's frame plan (videokr.build.frames). The three modes qc needs: `video` (the planned
frames, with their VideoMetadata), `text` (no visual input at all) and `frame` (the plan's middle frame, as one
image). With a temperature the samples are drawn, sample k under torch seed k, so k samples are k different draws.

Nothing is cached: a local model costs no money, and its answers are recorded by the qc filters
(qc/answers.<filter>.jsonl).
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videokr.build.config import FramesConfig, HFConfig
from videokr.build.qc import Item, Mode
from videokr.deps import require

LOG = logging.getLogger(__name__)


def eval_prompt(item: Mapping[str, Any]) -> str:
    """The evaluation prompt of a build item (its VideoKR row read as the canonical record).

    >>> eval_prompt({"problem_id": "p", "question": "Which?", "options": ["A. red", "B. green"], "solution": "A"}).splitlines()[:3]
    ['Which?', 'A. red', 'B. green']
    """
    from videokr.build.split import to_row
    from videokr.prompts import render_prompt
    from videokr.records import Sample

    return render_prompt(Sample.from_raw(to_row(item, "build", with_think=False)), "eval")


@dataclass
class HFSolver:
    """A local checkpoint as qc's solver (or as the difficulty band's target model)."""

    checkpoint: Path
    video_root: Path
    frames: FramesConfig
    settings: HFConfig = field(default_factory=HFConfig)
    _loaded: tuple[Any, Any] | None = field(default=None, init=False, repr=False)

    def can_see(self, mode: Mode) -> bool:
        """Every mode: text, one frame, the planned frames."""
        return True

    def answer(
        self, items: Sequence[Item], mode: Mode, samples: int = 1, temperature: float | None = None
    ) -> list[list[str | None]]:
        """`samples` extracted answers per item (greedy without a temperature; drawn with seed k with one)."""
        from videokr.answers import extract_eval_answer

        out = []
        for item in items:
            features = self.encode(item, mode)
            texts = [self._generate(features, k, temperature) for k in range(samples)]
            out.append([extract_eval_answer(text) or None for text in texts])
        return out

    def encode(self, item: Mapping[str, Any], mode: Mode) -> Any:
        """The processor's features for `item` in `mode`: the chat template, then the text and the visual input."""
        processor = self._model()[0]
        content: list[dict[str, Any]] = [{"type": "text", "text": eval_prompt(item)}]
        kwargs: dict[str, Any] = {}
        if mode != "text":
            from videokr.build.frames import planned_images

            images, rate = planned_images(self.video_root / item["video_path"], self.frames, single=mode == "frame")
            if mode == "frame":
                content.insert(0, {"type": "image"})
                kwargs = {"images": images}
            else:
                content.insert(0, {"type": "video"})
                kwargs = _video_inputs(images, rate)
        chat = [{"role": "user", "content": content}]
        text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return processor(text=[text], return_tensors="pt", **kwargs)

    def _generate(self, features: Any, seed: int, temperature: float | None) -> str:
        torch = require("torch")
        processor, model = self._model()
        sampled = bool(temperature)
        options: dict[str, Any] = {"max_new_tokens": self.settings.max_new_tokens, "do_sample": sampled}
        if sampled:
            options["temperature"] = temperature
            torch.manual_seed(seed)
        inputs = features.to(model.device)
        with torch.no_grad():
            out = model.generate(**inputs, **options, pad_token_id=processor.tokenizer.pad_token_id)
        return str(processor.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))

    def _model(self) -> tuple[Any, Any]:
        if self._loaded is None:
            torch = require("torch")
            transformers = require("transformers")
            device = self.settings.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            LOG.info("qc: loading %s on %s", self.checkpoint, device)
            processor = transformers.AutoProcessor.from_pretrained(self.checkpoint)
            model = transformers.AutoModelForImageTextToText.from_pretrained(self.checkpoint, dtype=torch.float32)
            self._loaded = (processor, model.to(device).eval())
        return self._loaded


def _video_inputs(images: Sequence[Any], rate: float) -> dict[str, Any]:
    """The processor's video arguments for pre-sampled frames (as the demo and the eval feed them)."""
    import numpy as np

    from videokr.tiny.frames import frames_metadata

    frames = np.stack([np.asarray(image) for image in images])
    return {"videos": [frames], "video_metadata": [frames_metadata(frames, rate)], "do_sample_frames": False}
