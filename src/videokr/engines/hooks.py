"""The names by which the engines find videokr's plugins (`videokr.plugins`): module paths, registry keys.

Side-effect free: launchers import these to render commands and environments, and the plugins import them to
register under the same names, so each name is defined once and no launcher imports a plugin.
"""

# verl imports these for their side effects (VERL_USE_EXTERNAL_MODULES) in the trainer and every Ray worker.
VERL_CPU_MODULE = "videokr.plugins.verl_cpu"
VERL_VLLM_MODULE = "videokr.plugins.verl_vllm"
# verl's `trainer.v1.sampler.custom_sampler` on CPU: the sync replay buffer that keeps a batch in dataloader order.
VERL_REPLAY_BUFFER = ("pkg://videokr.plugins.verl_replay", "OrderedReplayBuffer")
# The rollout name videokr.plugins.verl_cpu registers: verl's `actor_rollout_ref.rollout.name` on CPU.
HF_ROLLOUT = "hf"
# lmms-eval's `--model` name of videokr.plugins.lmms_eval_vllm, registered by the `lmms_eval.models` entry point.
LMMS_EVAL_VLLM_MODEL = "videokr_vllm"
LMMS_EVAL_VLLM_CLASS = "videokr.plugins.lmms_eval_vllm.VideoKRVLLM"
# vLLM's `vllm.general_plugins` entry point (pyproject.toml) and the Qwen2.5-VL model class it registers.
VLLM_PLUGIN_GROUP = "vllm.general_plugins"
VLLM_PLUGIN_NAME = "videokr_qwen2_5_vl_video_metadata"
VLLM_QWEN2_5_VL_CLASS = "videokr.plugins.vllm_qwen2_5_vl:VideoKRQwen2_5_VLForConditionalGeneration"
