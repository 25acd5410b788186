"""Prompt-length budgets from metadata: the token count verl's RLHFDataset length filter computes, without decoding.

verl (`filter_overlong_prompts=True`) renders each row with `processor.apply_chat_template(...,
add_generation_prompt=True)`, decodes the video with qwen-vl-utils, runs the processor and takes
`len(input_ids)`. `PromptBudget.count` renders the same text, expands each video placeholder to the visual
tokens `count_visual_tokens` computes from the probed metadata (plus Qwen3-VL's per-group `<t seconds>` text)
and tokenizes that: the same number, in milliseconds instead of seconds per video.

`PromptBudget.from_model` reads the checkpoint's files with `videokr.data.processor.LightProcessor` (no
transformers import: ~9 s less per command); `from_transformers`, or a processor object passed in, counts
with transformers' own processor.
"""

import copy
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from videokr.data.videos import (
    ProcessorConfig,
    TokenCount,
    VideoInfo,
    VideoSettings,
    count_visual_tokens,
)
from videokr.deps import require
from videokr.errors import ConfigError
from videokr.families import Family, detect_family

# verl's RLHFDataset._build_messages splits user text on these placeholders.
PLACEHOLDER_RE = re.compile("(<image>|<video>|<audio>)")
# Stand-in while expanding, as the HF processors do, so that an expansion is never expanded again.
_HOLD = "<|videokr_hold|>"


class PromptBudget:
    """Counts prompt tokens (text + visual) for one checkpoint exactly as verl's length filter does."""

    def __init__(
        self,
        processor: Any,
        family: Family,
        config: ProcessorConfig | None = None,
        image_patch_size: int | None = None,
    ) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.family: Family = family
        self.config = config or ProcessorConfig.from_processor(processor.video_processor, family)
        # verl: `data.image_patch_size` or the processor's own patch size; the qwen-vl-utils factor is twice it.
        self.image_patch_size = image_patch_size or int(
            getattr(getattr(processor, "image_processor", None), "patch_size", self.config.patch_size)
        )
        self.video_token = str(getattr(processor, "video_token", "<|video_pad|>"))
        self.vision_start = str(getattr(processor, "vision_start_token", "<|vision_start|>"))
        self.vision_end = str(getattr(processor, "vision_end_token", "<|vision_end|>"))

    @classmethod
    def from_model(
        cls, model_path: str | os.PathLike[str], family: Family | None = None, image_patch_size: int | None = None
    ) -> "PromptBudget":
        """Read the checkpoint's tokenizer, chat template and processor settings from its files (no transformers).

        `image_patch_size` is verl's `data.image_patch_size`: verl's default trainer config sets 14 even for
        Qwen3-VL (PROTOCOL.md section 8); pass 14 to reproduce that, leave None for the processor's own.
        """
        from videokr.data.processor import LightProcessor

        if not os.path.isdir(model_path):  # a hub id: transformers resolves it through its cache
            return cls.from_transformers(model_path, family, image_patch_size)
        fam = family or detect_family(model_path)
        processor = LightProcessor.from_pretrained(model_path)
        return cls(processor, fam, processor.processor_config(fam), image_patch_size or processor.image_patch_size)

    @classmethod
    def from_transformers(
        cls, model_path: str | os.PathLike[str], family: Family | None = None, image_patch_size: int | None = None
    ) -> "PromptBudget":
        """Load the checkpoint's processor through transformers' AutoProcessor (seconds; same counts as from_model)."""
        fam = family or detect_family(model_path)
        transformers = require("transformers")
        try:
            processor = transformers.AutoProcessor.from_pretrained(os.fspath(model_path))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{model_path}: cannot load its processor: {exc}") from exc
        return cls(processor, fam, image_patch_size=image_patch_size)

    def visual(self, video: VideoInfo, video_cfg: Mapping[str, Any]) -> TokenCount:
        """The frame plan and visual tokens of one video under a verl `videos` entry."""
        settings = VideoSettings.from_video_dict(dict(video_cfg))
        return count_visual_tokens(video, settings, self.family, self.config, self.image_patch_size)

    def count(
        self,
        messages: list[dict[str, Any]],
        video: VideoInfo | Sequence[VideoInfo],
        video_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    ) -> int:
        """Prompt tokens of a verl row (`prompt` messages with `<video>` placeholders, one entry per video).

        Raises VideoError where verl's own filter would hit an exception (verl then drops the row).
        """
        videos = [video] if isinstance(video, VideoInfo) else list(video)
        cfgs = [video_cfg] if isinstance(video_cfg, Mapping) else list(video_cfg)
        if len(cfgs) == 1 and len(videos) > 1:
            cfgs = cfgs * len(videos)
        if len(cfgs) != len(videos):
            raise ConfigError(f"{len(videos)} videos but {len(cfgs)} video settings")
        counts = [self.visual(info, cfg) for info, cfg in zip(videos, cfgs, strict=True)]
        entries = [{**cfg, "video": info.path} for info, cfg in zip(videos, cfgs, strict=True)]
        return self.count_with(messages, entries, counts)

    def count_with(
        self, messages: list[dict[str, Any]], entries: list[dict[str, Any]], counts: list[TokenCount]
    ) -> int:
        """Prompt tokens of `messages` with each `<video>` expanded to an already computed TokenCount."""
        chat = build_verl_messages(messages, entries)
        text = self.processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        text, hidden = self._expand(text, counts)
        return len(self.tokenizer(text)["input_ids"]) + hidden

    def _expand(self, text: str, counts: list[TokenCount]) -> tuple[str, int]:
        """Expand placeholders like the HF processor, one pad per frame group; returns (text, pads left out)."""
        hidden = 0
        wrapped = f"{self.vision_start}{self.video_token}{self.vision_end}"
        for count in counts:
            per_group = count.grid_h * count.grid_w // self.config.merge_size**2
            if self.family == "qwen3_vl":
                body = "".join(
                    f"{stamp}{self.vision_start}{_HOLD}{self.vision_end}" for stamp in count.timestamp_texts()
                )
                hidden += (per_group - 1) * count.grid_t
                # the chat template wraps the pad; a bare pad (vLLM-style text) is replaced the same way
                text = text.replace(wrapped if wrapped in text else self.video_token, body, 1)
            else:
                hidden += count.tokens - 1
                text = text.replace(self.video_token, _HOLD, 1)
        return text.replace(_HOLD, self.video_token), hidden


def build_verl_messages(messages: list[dict[str, Any]], videos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """verl RLHFDataset._build_messages for videos: split string contents on placeholders into typed parts."""
    chat = copy.deepcopy(messages)
    offset = 0
    for message in chat:
        content = message.get("content")
        if not videos or not isinstance(content, str):
            continue
        parts: list[dict[str, Any]] = []
        for segment in (s for s in PLACEHOLDER_RE.split(content) if s != ""):
            if segment == "<video>":
                if offset >= len(videos):
                    raise ConfigError(f"more <video> placeholders than videos ({len(videos)})")
                parts.append({"type": "video", **videos[offset]})
                offset += 1
            elif segment in ("<image>", "<audio>"):
                raise ConfigError(f"{segment} placeholders are not supported by the video budget")
            else:
                parts.append({"type": "text", "text": segment})
        message["content"] = parts
    if offset != len(videos):
        raise ConfigError(f"{len(videos)} videos but {offset} <video> placeholders in the prompt")
    return chat
