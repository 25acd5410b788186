"""Qwen2.5-VL for vLLM 0.24 that keeps each video's metadata, so rollouts get training's temporal positions.

Runs inside vLLM (imported lazily through the registration in `videokr.plugins.vllm_plugin`), never in the CLI.
What was read, vLLM 0.24.0 (package-relative paths):
- `model_executor/models/qwen2_5_vl.py:1147-1157`: `Qwen2_5_VLProcessingInfo` inherits Qwen2-VL's
  `get_data_parser` (`qwen2_vl.py:862-866`), a parser without `video_needs_metadata`; `multimodal/parse.py:
  651-664` then keeps only the frames of a `(frames, metadata)` item. `qwen3_vl.py:881-886` sets the flag.
- The HF processor therefore gets no `video_metadata`: transformers 5.9.0 `processing_qwen2_5_vl.py:103-113`
  computes `second_per_grid_ts = temporal_patch_size / metadata.sampled_fps`, and `video_utils.py:107-112`
  (`VideoMetadata.sampled_fps`) falls back to 24 fps without `frames_indices` / `total_num_frames`.
- `qwen2_5_vl.py:1273-1349` (`iter_mm_grid_thw`, `get_mrope_input_positions`): the temporal M-RoPE index of a
  video step is `t * second_per_grid_ts * tokens_per_second`, so 2/24 instead of 2/2 s per step compresses
  the rollout's video positions twelvefold against the trainer's.
- vLLM 0.32.0 `qwen2_5_vl.py:1150-1231` fixes it upstream with the three pieces mirrored here: a parser with
  `video_needs_metadata=True`, dummy videos (engine profiling) that carry metadata, and the metadata handed
  to the HF processor as `video_metadata`. 0.24 has no `_get_hf_mm_inputs`, so the last piece overrides
  `_call_hf_processor`, as 0.24's own Qwen3-VL does (`qwen3_vl.py:1249-1306`) with `do_sample_frames` taken
  from the metadata (default False: the frames were sampled by qwen-vl-utils).
- `multimodal/registry.py:142-174`: the processor factories hang on the model class, so a subclass carrying
  its own `register_processor` replaces only the processing; weights, forward and M-RoPE are vLLM's.
"""

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from transformers.feature_extraction_utils import BatchFeature
from transformers.video_utils import VideoMetadata
from vllm.model_executor.models.qwen2_5_vl import (
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLMultiModalProcessor,
    Qwen2_5_VLProcessingInfo,
)
from vllm.model_executor.models.qwen2_vl import Qwen2VLDummyInputsBuilder, Qwen2VLMultiModalDataParser
from vllm.multimodal import MULTIMODAL_REGISTRY

_METADATA_FIELDS = frozenset(f.name for f in fields(VideoMetadata))
DUMMY_FPS = 2.0


def hf_video_metadata(metadata: Mapping[str, Any]) -> VideoMetadata:
    """transformers' VideoMetadata from a rollout's metadata dict (qwen-vl-utils keys; vLLM's own flag dropped)."""
    return VideoMetadata(**{key: value for key, value in metadata.items() if key in _METADATA_FIELDS})


class VideoKRQwen2_5_VLProcessingInfo(Qwen2_5_VLProcessingInfo):
    """Qwen2.5-VL processing info whose parser keeps `(frames, metadata)` video items (as Qwen3-VL's does)."""

    def get_data_parser(self) -> Qwen2VLMultiModalDataParser:
        return Qwen2VLMultiModalDataParser(
            self.get_hf_config().vision_config.spatial_merge_size,
            video_needs_metadata=True,
            expected_hidden_size=self._get_expected_hidden_size(),
        )


class VideoKRQwen2_5_VLDummyInputsBuilder(Qwen2VLDummyInputsBuilder):
    """Profiling videos with metadata (the parser now requires it), as vLLM 0.32's Qwen2.5-VL builder."""

    def _get_dummy_videos(self, **kwargs: Any) -> list[Any]:
        videos = super()._get_dummy_videos(**kwargs)
        return [
            (
                video.copy(),
                {
                    "fps": DUMMY_FPS,
                    "duration": len(video) / DUMMY_FPS,
                    "total_num_frames": len(video),
                    "frames_indices": list(range(len(video))),
                    "video_backend": "opencv",
                    "do_sample_frames": False,
                },
            )
            for video in videos
        ]


class VideoKRQwen2_5_VLMultiModalProcessor(Qwen2_5_VLMultiModalProcessor):
    """Hands each video's metadata to the HF processor, which derives `second_per_grid_ts` from it."""

    def _call_hf_processor(
        self,
        prompt: str,
        mm_data: Mapping[str, object],
        mm_kwargs: Mapping[str, object],
        tok_kwargs: Mapping[str, object],
    ) -> BatchFeature:
        data = dict(mm_data)
        videos: Any = data.pop("videos", None)
        if not videos:
            return super()._call_hf_processor(prompt, mm_data, mm_kwargs, tok_kwargs)
        frames = [video for video, _ in videos]
        metadata = [meta for _, meta in videos]
        kwargs = dict(mm_kwargs)
        kwargs.setdefault("do_sample_frames", bool(metadata[0].get("do_sample_frames", False)))
        data.update(videos=frames, video_metadata=[hf_video_metadata(meta) for meta in metadata])
        return super()._call_hf_processor(prompt, data, kwargs, tok_kwargs)


@MULTIMODAL_REGISTRY.register_processor(
    VideoKRQwen2_5_VLMultiModalProcessor,
    info=VideoKRQwen2_5_VLProcessingInfo,
    dummy_inputs=VideoKRQwen2_5_VLDummyInputsBuilder,
)
class VideoKRQwen2_5_VLForConditionalGeneration(Qwen2_5_VLForConditionalGeneration):
    """vLLM's Qwen2.5-VL model, unchanged, with the metadata-keeping multimodal processing above."""
