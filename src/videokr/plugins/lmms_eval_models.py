"""The lmms-eval models videokr adds, as lmms-eval's `lmms_eval.models` entry point (pyproject.toml).

lmms-eval loads this at start-up in whichever environment it runs; it must stay light (no torch, no vLLM):
the model class itself (`videokr.plugins.lmms_eval_vllm`) is imported only when a run asks for it.
"""

from typing import Any

from videokr.engines.hooks import LMMS_EVAL_VLLM_CLASS, LMMS_EVAL_VLLM_MODEL


def manifests() -> list[Any]:
    """lmms-eval ModelManifests: `videokr_vllm`, vLLM generation with each video's timing (a chat model)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(
            model_id=LMMS_EVAL_VLLM_MODEL,
            chat_class_path=LMMS_EVAL_VLLM_CLASS,
        )
    ]
