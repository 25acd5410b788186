"""Code the engines load into their own processes, never imported by the rest of videokr.

- `verl_cpu` (+ `verl_rollout_hf`): verl's CPU platform and HF rollout, loaded by verl's workers through
  `VERL_USE_EXTERNAL_MODULES`; importing it patches torch and verl, which is why nothing outside imports it.
- `verl_vllm`: the Qwen3-VL prompt fix for verl's vLLM rollout (upstream verl issue 5024), loaded the same way.
- `vllm_plugin` (+ `vllm_qwen2_5_vl`): a `vllm.general_plugins` entry point that keeps Qwen2.5-VL video metadata
  in vLLM 0.24 rollouts.
- `lmms_eval_models` (+ `lmms_eval_vllm`): an `lmms_eval.models` entry point, the `videokr_vllm` model class.

The launchers name these modules by string (`videokr.engines.hooks`); a test checks that no module outside
this package imports one. Code here may import the rest of videokr (rewards, prompts, the names in hooks).
"""
