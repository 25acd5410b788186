"""The lmms-eval models videokr adds, as lmms-eval's `lmms_eval.models` entry point (pyproject.toml).

lmms-eval loads this at start-up in whichever environment it runs; it must stay light (no torch, no vLLM):
the model class itself (`videokr.engines.lmms_eval_vllm`) is imported only when a run asks for it.
"""

from typing import Any

VLLM_MODEL_ID = "videokr_vllm"


def manifests() -> list[Any]:
    """lmms-eval ModelManifests: `videokr_vllm`, vLLM generation with each video's timing (a chat model)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(
            model_id=VLLM_MODEL_ID,
            chat_class_path="videokr.engines.lmms_eval_vllm.VideoKRVLLM",
        )
    ]
