"""videokr's lmms-eval model on vLLM: lmms-eval 0.7.3's `vllm_generate`, with every video sent with its timing.

Runs INSIDE lmms-eval (the gpu profile's eval environment, or `.venvs/vllm-cpu`); nothing in videokr imports it.
lmms-eval finds it by name (`--model videokr_vllm`) through the `lmms_eval.models` entry point declared in
pyproject.toml (`videokr.plugins.lmms_eval_models:manifests`).

Why (../shared/VLLM-CPU.md, "Video timing through vLLM"): vLLM's Qwen2.5-VL and Qwen3-VL processors need each
video as a `(frames, metadata)` pair, because transformers computes the temporal positions
(`second_per_grid_ts`, Qwen3-VL's `<t seconds>` stamps) from the metadata, and vLLM raises `Video metadata is
required but not found in mm input` without it. `vllm_generate` builds the pair for Qwen3-VL only, so every
Qwen2.5-VL video fails. This class decodes each video as `vllm_generate` does (qwen-vl-utils `fetch_video`
with the same settings) except that frames resize to multiples of the checkpoint's own patch size (28 for
Qwen2.5-VL, 32 for Qwen3-VL, where `vllm_generate` always uses 28), and always sends the pair, with
`do_sample_frames: False` (the frames are already sampled) and only the metadata keys transformers'
`VideoMetadata` accepts. The prompt is vllm_generate's: no system prompt beyond the chat template's own.

Run by hand: `python -m lmms_eval --model videokr_vllm --model_args model=CKPT,... --tasks ...`.
"""

from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.models.chat.vllm_generate import VLLMGenerate
from lmms_eval.protocol import ChatMessages

# The fields of transformers' VideoMetadata that describe the source and the sampled frames; vLLM rejects any
# other key of a metadata dict with a TypeError (qwen-vl-utils adds `video_backend`, which is dropped).
METADATA_KEYS = ("fps", "total_num_frames", "frames_indices")


def video_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    """The metadata vLLM is given for one decoded video: source fps, source frame count, sampled frame indices.

    >>> video_metadata({"fps": 8.0, "total_num_frames": 16, "frames_indices": [0, 15], "video_backend": "decord"})
    {'fps': 8.0, 'total_num_frames': 16, 'frames_indices': [0, 15]}
    """
    missing = [key for key in METADATA_KEYS if raw.get(key) is None]
    if missing:
        raise ValueError(f"the video reader returned no {', '.join(missing)}: cannot time the video for vLLM")
    indices = raw["frames_indices"]
    return {
        "fps": float(raw["fps"]),
        "total_num_frames": int(raw["total_num_frames"]),
        "frames_indices": [int(i) for i in (indices.tolist() if hasattr(indices, "tolist") else indices)],
    }


def patch_size(processor: Any) -> int:
    """The vision patch size of a Qwen-VL processor (14 for Qwen2.5-VL, 16 for Qwen3-VL): frames resize to 2x it."""
    vision = getattr(processor, "video_processor", None) or processor.image_processor
    return int(vision.patch_size)


def decode_video(video: str, video_kwargs: dict[str, Any], image_patch_size: int) -> tuple[Any, dict[str, Any]]:
    """The sampled, resized frames of one video (qwen-vl-utils, as vllm_generate) and the metadata that times them."""
    from qwen_vl_utils import fetch_video

    element = {"type": "video", "video": video, **video_kwargs}
    frames, raw = fetch_video(element, image_patch_size=image_patch_size, return_video_metadata=True)
    return frames, video_metadata(raw)


def build_vllm_inputs(
    processor: Any, raw_messages: list[dict[str, Any]], video_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """vLLM's input for one request: the chat-templated prompt and each video as (frames, metadata)."""
    chat_messages = ChatMessages(messages=raw_messages)
    messages = chat_messages.to_hf_messages(video_kwargs=video_kwargs)
    images, videos, _audios = chat_messages.extract_media()
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs: dict[str, Any] = {"prompt": text, "multi_modal_data": {}}
    if images:
        inputs["multi_modal_data"]["image"] = images
    if videos:
        size = patch_size(processor)
        inputs["multi_modal_data"]["video"] = [decode_video(video, video_kwargs, size) for video in videos]
        # the frames are already sampled: the processor must not sample again, only time them from the metadata
        inputs["mm_processor_kwargs"] = {"do_sample_frames": False, **_resize_kwargs(processor)}
    return inputs


def _resize_kwargs(processor: Any) -> dict[str, Any]:
    """Qwen3-VL frames are used as decoded (`do_resize: False`), as lmms-eval's HF `qwen3_vl` model does; Qwen2.5-VL
    frames pass the processor's own resize, as in lmms-eval's HF `qwen2_5_vl`. Either way the vLLM path sees the
    visual tokens of the family's HF path (tests/vllm/test_parity.py)."""
    return {"do_resize": False} if "Qwen3VL" in type(processor).__name__ else {}


class VideoKRVLLM(VLLMGenerate):
    """`vllm_generate` with every video passed to vLLM as (frames, metadata), for Qwen2.5-VL and Qwen3-VL alike."""

    is_simple = False

    def video_kwargs(self) -> dict[str, Any]:
        """qwen-vl-utils' sampling and resize settings for one video, as `vllm_generate` builds them."""
        kwargs: dict[str, Any] = {
            "max_pixels": self.max_pixels,
            "min_pixels": self.min_image_pixels,
            "max_frames": self.max_frame_num,
        }
        if self.fps is not None:
            kwargs["fps"] = self.fps
        else:
            kwargs["nframes"] = self.nframes
        return kwargs

    def make_one_request(self, request: Instance) -> tuple[dict[str, Any], dict[str, Any]]:
        """(vLLM input, sampling params) for one lmms-eval request; `generate_until` is vllm_generate's."""
        _ctx, doc_to_messages, gen_kwargs, doc_id, task, split = request.arguments
        raw_messages = doc_to_messages(self.task_dict[task][split][doc_id])
        gen = dict(gen_kwargs or {})
        gen["max_new_tokens"] = self._select_max_new_tokens(gen.get("max_new_tokens"))
        gen.setdefault("temperature", 0)
        gen.setdefault("top_p", 0.95)
        return build_vllm_inputs(self.processor, raw_messages, self.video_kwargs()), self._build_sampling_params_dict(
            gen
        )
