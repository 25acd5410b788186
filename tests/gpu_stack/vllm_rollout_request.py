"""What vLLM 0.24 makes of verl 0.9.1's rollout request for one clip: run by test_rollout_timing_vllm.py.

`python vllm_rollout_request.py MODEL REQUEST.json` prints JSON: the request's `second_per_grid_ts`, the
prompt ids vLLM expanded, the M-RoPE positions its model runner would use, and the dummy profiling video's.
It runs in a process of its own because vLLM loads its general plugins (videokr's included) once per process:
the test runs it once with the plugin off (`VIDEOKR_QWEN2_5_VL_VIDEO_METADATA=off`) and once as installed.
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def verl_request(model: str, messages: list[dict[str, Any]], prompt_ids: list[int]) -> dict[str, Any]:
    """The TokensPrompt verl's vLLM server builds (vllm_async_server.py:635-644) for these messages and ids."""
    import transformers
    from qwen_vl_utils import process_vision_info

    # verl's dataset and agent loop: rl_dataset.py:494, qwen-vl-utils' (frames, metadata) pairs.
    _, videos = process_vision_info(messages, image_patch_size=14, return_video_metadata=True)
    processor = transformers.AutoProcessor.from_pretrained(model)
    return {
        "prompt_token_ids": dedup_video_pads(prompt_ids, processor.video_token_id),
        "multi_modal_data": {"video": videos},
    }


def dedup_video_pads(prompt_ids: list[int], video_token_id: int) -> list[int]:
    """verl's `qwen2_5_vl_dedup_image_tokens` (workers/rollout/utils.py:93-113) for video pads."""
    return [t for i, t in enumerate(prompt_ids) if not (i and t == video_token_id and prompt_ids[i - 1] == t)]


def main(model: str, request_path: str) -> None:
    from vllm.engine.arg_utils import EngineArgs
    from vllm.inputs import TokensPrompt
    from vllm.model_executor.models.qwen2_5_vl import Qwen2_5_VLForConditionalGeneration
    from vllm.multimodal import MULTIMODAL_REGISTRY
    from vllm.sampling_params import SamplingParams
    from vllm.v1.engine.input_processor import InputProcessor

    spec = json.loads(Path(request_path).read_text())
    config = EngineArgs(model=model, max_model_len=4096, mm_processor_cache_gb=0).create_engine_config()
    request = InputProcessor(config).process_inputs(  # what AsyncLLM.generate does with verl's prompt
        "rollout",
        TokensPrompt(**verl_request(model, spec["messages"], spec["prompt_ids"])),
        SamplingParams(max_tokens=1),
        supported_tasks=("generate",),
    )
    # The model runner's call (v1/worker/gpu_model_runner.py:1616): vLLM's own M-RoPE arithmetic, no weights.
    runner_model = SimpleNamespace(config=config.model_config.hf_config)
    runner_model.iter_mm_grid_thw = lambda f: Qwen2_5_VLForConditionalGeneration.iter_mm_grid_thw(runner_model, f)
    positions, _ = Qwen2_5_VLForConditionalGeneration.get_mrope_input_positions(
        runner_model, request.prompt_token_ids, request.mm_features
    )
    dummy = MULTIMODAL_REGISTRY.get_dummy_mm_inputs(config.model_config, {"video": 1})  # engine profiling
    print(
        json.dumps(
            {
                "processor_class": MULTIMODAL_REGISTRY.create_processor(config.model_config).__class__.__name__,
                "second_per_grid_ts": [float(f.data["second_per_grid_ts"].data) for f in request.mm_features],
                "video_grid_thw": [f.data["video_grid_thw"].data.tolist() for f in request.mm_features],
                "prompt_token_ids": list(request.prompt_token_ids),
                "positions": positions.tolist(),
                "dummy_second_per_grid_ts": [float(x.data) for x in _items(dummy, "second_per_grid_ts")],
            }
        )
    )


def _items(mm_inputs: Any, key: str) -> list[Any]:
    return [item[key] for item in mm_inputs["mm_kwargs"]["video"] if item is not None]


if __name__ == "__main__":  # vLLM spawns helpers: keep the work under this guard
    main(sys.argv[1], sys.argv[2])
