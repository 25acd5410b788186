"""Qwen3-VL video prompts for verl 0.9.1's vLLM rollout (upstream verl issue 5024), fixed from outside verl.

verl's agent loop builds prompt ids with the HF processor, which expands each Qwen3-VL video into one
`<t seconds><|vision_start|><|video_pad|>...<|vision_end|>` block per temporal patch group. The vLLM server then
hands those ids plus the raw frames to vLLM, which expects the tokenizer's form (one
`<|vision_start|><|video_pad|><|vision_end|>` per video) and expands it itself; the extra blocks break M-RoPE
(`IndexError` in the position calculation). The published recipe patched verl's agent loop to tokenize with the
tokenizer. videokr keeps verl stock: loaded with `VERL_USE_EXTERNAL_MODULES=videokr.plugins.verl_vllm`, this
module re-registers the `vllm` rollout replica with a server subclass that turns the prompt back into the
tokenizer's form before calling verl's own `generate`. Training still uses the processor-expanded ids.
Qwen2.5-VL needs nothing: verl already de-duplicates its runs of `<|video_pad|>`.
"""

import math
import re
from collections.abc import Sequence
from typing import Any

VIDEO_PLACEHOLDER = "<|vision_start|><|video_pad|><|vision_end|>"
# One temporal group of a Qwen3-VL video as the HF processor renders it (transformers 5.x).
_GROUP_RE = re.compile(r"<\d+(?:\.\d+)? seconds><\|vision_start\|>(?:<\|video_pad\|>)+<\|vision_end\|>")
QWEN3_VL_TYPES = ("qwen3_vl", "qwen3_vl_moe")


def collapse_video_groups(text: str, groups_per_video: Sequence[int]) -> str:
    """Replace each video's expanded timestamp groups with the single placeholder the chat template wrote.

    >>> text = "a<0.5 seconds><|vision_start|><|video_pad|><|video_pad|><|vision_end|>"
    >>> text += "<1.5 seconds><|vision_start|><|video_pad|><|video_pad|><|vision_end|>b"
    >>> collapse_video_groups(text, [2])
    'a<|vision_start|><|video_pad|><|vision_end|>b'
    """
    matches = list(_GROUP_RE.finditer(text))
    if sum(groups_per_video) != len(matches):
        raise ValueError(f"expected {sum(groups_per_video)} video groups in the prompt, found {len(matches)}")
    pieces, position, index = [], 0, 0
    for groups in groups_per_video:
        first, last = matches[index], matches[index + groups - 1]
        between = text[first.start() : last.end()]
        if _GROUP_RE.sub("", between):
            raise ValueError("text between the groups of one video: cannot collapse it")
        pieces += [text[position : first.start()], VIDEO_PLACEHOLDER]
        position, index = last.end(), index + groups
    pieces.append(text[position:])
    return "".join(pieces)


def temporal_groups(video: Any, temporal_patch_size: int = 2) -> int:
    """Temporal patch groups of one video item (frames, or verl's (frames, metadata) pair).

    >>> import numpy as np
    >>> temporal_groups((np.zeros((5, 3, 8, 8)), {}))
    3
    """
    frames = video[0] if isinstance(video, tuple | list) else video
    return math.ceil(len(frames) / temporal_patch_size)


def tokenizer_prompt_ids(
    tokenizer: Any, prompt_ids: list[int], videos: Sequence[Any], temporal_patch: int
) -> list[int]:
    """Processor-expanded Qwen3-VL prompt ids -> the ids the tokenizer gives for the un-expanded chat text."""
    text = tokenizer.decode(prompt_ids, skip_special_tokens=False)
    collapsed = collapse_video_groups(text, [temporal_groups(v, temporal_patch) for v in videos])
    return list(tokenizer.encode(collapsed, add_special_tokens=False))


def _load_replica() -> Any:
    """Build the replica lazily: importing verl's vLLM server needs vllm, present only in GPU environments."""
    import ray
    from verl.workers.rollout.vllm_rollout.vllm_async_server import vLLMHttpServer, vLLMReplica

    class VideoKRvLLMHttpServer(vLLMHttpServer):
        """verl's vLLM server; Qwen3-VL video prompts go to vLLM in the tokenizer's form."""

        async def generate(
            self,
            prompt_ids: list[int],
            sampling_params: dict[str, Any],
            request_id: str,
            image_data: list[Any] | None = None,
            video_data: list[Any] | None = None,
            audio_data: list[Any] | None = None,
            mm_processor_kwargs: dict[str, Any] | None = None,
            priority: int = 0,
            kv_transfer_params: dict[Any, Any] | None = None,
        ) -> Any:
            model_type = getattr(self.model_config.hf_config, "model_type", "")
            if video_data and model_type in QWEN3_VL_TYPES:
                processor = self.model_config.processor
                patch = getattr(getattr(processor, "video_processor", None), "temporal_patch_size", 2)
                prompt_ids = tokenizer_prompt_ids(self.model_config.tokenizer, list(prompt_ids), video_data, patch)
            return await super().generate(
                prompt_ids,
                sampling_params,
                request_id,
                image_data=image_data,
                video_data=video_data,
                audio_data=audio_data,
                mm_processor_kwargs=mm_processor_kwargs,
                priority=priority,
                kv_transfer_params=kv_transfer_params,
            )

    class VideoKRvLLMReplica(vLLMReplica):
        """verl's vLLM replica, launching the server above."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.server_class = ray.remote(VideoKRvLLMHttpServer)

    return VideoKRvLLMReplica


def install() -> None:
    """Re-register verl's `vllm` rollout replica with the Qwen3-VL prompt fix (verl's registry is a dict)."""
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    RolloutReplicaRegistry.register("vllm", _load_replica)


if __name__ != "__main__":
    try:
        import verl  # noqa: F401
    except ImportError:  # imported outside the rl environment (docs, tests of the pure functions)
        pass
    else:
        install()
