"""vLLM general plugin (entry point `vllm.general_plugins` -> `videokr_qwen2_5_vl_video_metadata`).

vLLM calls `register()` in every process it starts (API server, engine core, workers: vLLM 0.24
`plugins/__init__.py:69-82`, called from `engine/arg_utils.py`, `v1/engine/core.py:110`,
`v1/worker/worker_base.py:247`), so verl's rollout servers pick it up wherever videokr is installed, with
nothing added to verl's launch. On the vLLM versions of `videokr.engines.rollout_timing.FIX_TESTED` it
re-registers the `Qwen2_5_VLForConditionalGeneration` architecture, lazily (`module:Class`, so nothing heavy
is imported until a Qwen2.5-VL model is loaded), with `videokr.plugins.vllm_qwen2_5_vl`, whose processing keeps
each video's metadata. Elsewhere it does nothing: from vLLM 0.32 stock Qwen2.5-VL keeps it.
`VIDEOKR_QWEN2_5_VL_VIDEO_METADATA=off` turns it off; vLLM's own `VLLM_PLUGINS` allow-list also applies.
"""

import logging
import os

from videokr.engines.hooks import VLLM_PLUGIN_NAME as PLUGIN_NAME
from videokr.engines.hooks import VLLM_QWEN2_5_VL_CLASS as MODEL_CLASS
from videokr.engines.rollout_timing import FIX_ENV, vllm_needs_fix

logger = logging.getLogger(__name__)

ARCHITECTURE = "Qwen2_5_VLForConditionalGeneration"


def register() -> None:
    """Replace vLLM's Qwen2.5-VL architecture with videokr's metadata-keeping one where vLLM drops metadata."""
    import vllm
    from vllm import ModelRegistry

    if os.environ.get(FIX_ENV, "keep") == "off":
        logger.info("%s: %s=off, vLLM %s keeps its own Qwen2.5-VL processing", PLUGIN_NAME, FIX_ENV, vllm.__version__)
        return
    if vllm_needs_fix(vllm.__version__) != "apply":
        return
    ModelRegistry.register_model(ARCHITECTURE, MODEL_CLASS)
    logger.info("%s: Qwen2.5-VL videos keep their metadata (vLLM %s)", PLUGIN_NAME, vllm.__version__)
