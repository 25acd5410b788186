"""GRPO with stock verl 0.9.1: GRPOConfig -> `python -m verl.trainer.main_ppo` Hydra overrides, and the merge.

On GPUs this renders the published recipe (PROTOCOL.md section 7) with vLLM rollouts; without GPUs the same trainer
runs with `videokr.plugins.verl_cpu` loaded through verl's external-module hook (ENGINES.md section 5b). The reward
is videokr's `compute_score`, loaded by verl's `reward.custom_reward_function`. For Qwen3-VL on vLLM,
`videokr.plugins.verl_vllm` is loaded the same way (upstream verl issue 5024; see that module).
"""

import importlib.util
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.config.grpo import GRPOConfig, MergeConfig
from videokr.engines.base import Device, LaunchPlan, count_gpus, resolve_device, run_plan
from videokr.engines.envs import launch_python
from videokr.engines.hooks import HF_ROLLOUT, VERL_CPU_MODULE, VERL_REPLAY_BUFFER, VERL_VLLM_MODULE
from videokr.engines.rollout_timing import guard_rollout_timing
from videokr.engines.verl_metrics import RAW_METRICS, collect_metrics
from videokr.errors import DataError, EngineError

logger = logging.getLogger(__name__)

STEP_DIR_RE = re.compile(r"^global_step_(\d+)$")


def default_reward_path() -> str:
    """The file verl loads `compute_score` from: videokr.rewards' package file, found without importing it."""
    spec = importlib.util.find_spec("videokr.rewards")
    if spec is None or spec.origin is None:
        raise EngineError("videokr.rewards is not importable; reinstall videokr")
    return spec.origin


class HydraRaw(str):
    """An override value already in Hydra's syntax, passed through as is."""


def hydra_strings(mapping: Mapping[str, str]) -> HydraRaw:
    """A dict whose values stay strings in Hydra (`"1"` would otherwise arrive as an int).

    >>> hydra_strings({"VERL_PLATFORM": "cpu", "HF_HUB_OFFLINE": "1"})
    "{VERL_PLATFORM:'cpu',HF_HUB_OFFLINE:'1'}"
    """
    items = ",".join(f"{key}:'{value.replace(chr(39), chr(92) + chr(39))}'" for key, value in mapping.items())
    return HydraRaw("{" + items + "}")


def hydra_value(value: Any) -> str:
    """A Python value as a Hydra override value.

    >>> hydra_value(True), hydra_value(None), hydra_value(5e-06), hydra_value(["console", "file"])
    ('true', 'null', '5e-06', '[console,file]')
    >>> hydra_value({"mc_normalize": True})
    '{mc_normalize:true}'
    >>> hydra_value("a b")
    "'a b'"
    """
    if isinstance(value, HydraRaw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if re.fullmatch(r"[\w./~:@+-]+", text) else "'" + text.replace("'", "\\'") + "'"


def patch_size(cfg: GRPOConfig, family: str) -> int:
    """Vision patch size for verl's length filter and processor (verl defaults to 14; Qwen3-VL uses 16)."""
    if cfg.image_patch_size is not None:
        return cfg.image_patch_size
    return 16 if family == "qwen3_vl" else 14


def render_grpo_overrides(
    cfg: GRPOConfig,
    *,
    model_path: str,
    family: str,
    device: Device,
    n_gpus: int,
    worker_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """verl Hydra overrides (key -> value; keys starting with `+` add keys verl's schema lacks).

    `worker_env` reaches the Ray workers through the job's runtime_env when joining an existing cluster.
    """
    data_dir = Path(cfg.data_dir).absolute()
    per_node = cfg.cluster.n_gpus_per_node or n_gpus
    over: dict[str, Any] = {
        "algorithm.adv_estimator": "grpo",
        "algorithm.use_kl_in_reward": cfg.use_kl_in_reward,
        "data.train_files": str(data_dir / "train.parquet"),
        "data.val_files": str(data_dir / "test.parquet"),
        "data.train_batch_size": cfg.train_batch_size,
        "data.max_prompt_length": cfg.max_prompt_length,
        "data.max_response_length": cfg.max_response_length,
        "data.filter_overlong_prompts": cfg.filter_overlong_prompts,
        "data.truncation": "error",
        "data.image_patch_size": patch_size(cfg, family),
        "data.seed": cfg.seed,
        "actor_rollout_ref.model.path": model_path,
        "actor_rollout_ref.model.enable_gradient_checkpointing": cfg.gradient_checkpointing,
        "actor_rollout_ref.actor.optim.lr": cfg.lr,
        "actor_rollout_ref.actor.ppo_mini_batch_size": cfg.ppo_mini_batch_size,
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": cfg.ppo_micro_batch_size_per_gpu,
        "actor_rollout_ref.actor.use_kl_loss": cfg.use_kl_loss,
        "actor_rollout_ref.actor.kl_loss_coef": cfg.kl_loss_coef,
        "actor_rollout_ref.actor.kl_loss_type": cfg.kl_loss_type,
        "actor_rollout_ref.actor.entropy_coeff": cfg.entropy_coeff,
        "actor_rollout_ref.ref.fsdp_config.param_offload": cfg.ref_param_offload,
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": cfg.log_prob_micro_batch_size_per_gpu,
        "actor_rollout_ref.rollout.name": cfg.rollout_name,
        "actor_rollout_ref.rollout.n": cfg.rollout_n,
        "actor_rollout_ref.rollout.temperature": cfg.temperature,
        "actor_rollout_ref.rollout.tensor_model_parallel_size": cfg.tensor_model_parallel_size,
        "actor_rollout_ref.rollout.gpu_memory_utilization": cfg.gpu_memory_utilization,
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": cfg.log_prob_micro_batch_size_per_gpu,
        "reward.custom_reward_function.path": cfg.reward.path or default_reward_path(),
        "reward.custom_reward_function.name": cfg.reward.name,
        "trainer.logger": list(cfg.logger),
        "trainer.project_name": cfg.project_name,
        "trainer.experiment_name": cfg.experiment_name,
        "trainer.default_local_dir": str(Path(cfg.output_dir).absolute()),
        "trainer.nnodes": cfg.cluster.nnodes,
        "trainer.n_gpus_per_node": per_node,
        "trainer.total_epochs": cfg.total_epochs,
        "trainer.total_training_steps": cfg.total_training_steps,
        "trainer.save_freq": cfg.save_freq,
        "trainer.test_freq": cfg.test_freq,
        "trainer.val_before_train": cfg.val_before_train,
        "trainer.resume_mode": cfg.resume_mode,
    }
    if cfg.reward.kwargs:
        over["+reward.custom_reward_function.reward_kwargs"] = dict(cfg.reward.kwargs)
    if cfg.agent_num_workers is not None:
        over["actor_rollout_ref.rollout.agent.num_workers"] = cfg.agent_num_workers
    if cfg.cluster.ray_address:
        over["+ray_kwargs.ray_init.address"] = cfg.cluster.ray_address
    if device == "cpu":
        over.update(_cpu_overrides(cfg))
    if cfg.cluster.ray_address and worker_env:
        # Workers of a cluster videokr did not start inherit their raylet's environment, not the launcher's: the
        # variables they need travel in the job's runtime_env instead (verl merges it over its own defaults).
        over["+ray_kwargs.ray_init.runtime_env.env_vars"] = hydra_strings(worker_env)
    over.update(cfg.passthrough)
    return over


def _cpu_overrides(cfg: GRPOConfig) -> dict[str, Any]:
    """What the CPU run needs beyond the recipe; each line answers one symptom of ENGINES.md section 5b."""
    # One worker (a logical GPU) per node: a recipe's n_gpus_per_node counts real GPUs; nnodes stays the recipe's,
    # so a CPU run on an existing cluster spreads its workers over that many raylets.
    per_node = 1
    over = {
        "trainer.device": "cpu",
        "trainer.nnodes": cfg.cluster.nnodes,
        "trainer.n_gpus_per_node": per_node,
        "actor_rollout_ref.rollout.name": HF_ROLLOUT,  # the rollout of videokr.plugins.verl_cpu
        "actor_rollout_ref.rollout.tensor_model_parallel_size": 1,
        "actor_rollout_ref.rollout.agent.num_workers": cfg.agent_num_workers or 1,  # ~1 GB of RAM each
        "actor_rollout_ref.rollout.dtype": "float32",
        # request ids from batch positions, so the hf rollout draws the same samples for a prompt in every run
        "actor_rollout_ref.rollout.full_determinism": True,
        # rows in dataloader order, a prompt's copies side by side (so in one mini-batch): verl's buffer returns
        # them in rollout completion order, and balancing would re-sort them by length
        "trainer.v1.sampler.custom_sampler.path": VERL_REPLAY_BUFFER[0],
        "trainer.v1.sampler.custom_sampler.name": VERL_REPLAY_BUFFER[1],
        "trainer.balance_batch": False,
        "actor_rollout_ref.actor.strategy": "fsdp2",  # FSDP1 wants a CUDA device_id
        "actor_rollout_ref.actor.fsdp_config.dtype": "float32",
        "actor_rollout_ref.ref.fsdp_config.dtype": "float32",
        "actor_rollout_ref.ref.fsdp_config.param_offload": False,
        "actor_rollout_ref.actor.use_torch_compile": False,
        "actor_rollout_ref.actor.fsdp_config.use_torch_compile": False,
        "actor_rollout_ref.ref.fsdp_config.use_torch_compile": False,
        "actor_rollout_ref.model.use_remove_padding": False,  # flash-attn varlen kernels
        "actor_rollout_ref.model.enable_gradient_checkpointing": False,
        "+actor_rollout_ref.model.override_config.attn_implementation": "sdpa",  # not FlashAttention2
        "reward.num_workers": 1,
        "data.dataloader_num_workers": 0,
        # TransferQueue's 8 storage units and controller each reserve a CPU.
        "transfer_queue.backend.SimpleStorage.num_data_storage_units": 1,
    }
    if not cfg.cluster.ray_address:
        # The local Ray instance verl starts gets logical GPUs for the pool. An existing cluster brings its own
        # resources (every raylet started with `--num-gpus N`), and ray.init refuses these with an address.
        over["ray_kwargs.ray_init.num_cpus"] = 32
        over["+ray_kwargs.ray_init.num_gpus"] = cfg.cluster.nnodes * per_node
        over["+ray_kwargs.ray_init.include_dashboard"] = False
    return over


def grpo_env(device: Device, family: str, stage_dir: Path) -> dict[str, str]:
    """Environment for main_ppo and its Ray workers: the external modules, offline hubs, verl's file logger path."""
    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "VERL_FILE_LOGGER_PATH": str(stage_dir / RAW_METRICS),  # the trainer (a Ray actor) writes it
    }
    if device == "cpu":
        env.update(
            {
                "VERL_USE_EXTERNAL_MODULES": VERL_CPU_MODULE,
                "VERL_PLATFORM": "cpu",
                "VERL_ENGINE_DEVICE": "cuda",
                "FORCE_QWENVL_VIDEO_READER": "decord",  # torchvision.io.read_video is gone
                "RAY_DEDUP_LOGS": "0",
            }
        )
    elif family == "qwen3_vl":
        env["VERL_USE_EXTERNAL_MODULES"] = VERL_VLLM_MODULE
    return env


def plan_grpo(
    cfg: GRPOConfig,
    *,
    stage_dir: str | os.PathLike[str],
    model_path: str = "",
    family: str = "qwen2_5_vl",
    python: str | None = None,
    gpus: int | None = None,
    strict: bool = True,
) -> LaunchPlan:
    """The verl launch for `cfg`: `python -m verl.trainer.main_ppo` with Hydra overrides, in the rl environment.

    With `strict=False` (dry runs) a GPU launch is planned even on a machine without a GPU.
    """
    stage = Path(stage_dir).absolute()
    n_gpus = count_gpus() if gpus is None else gpus
    device = resolve_device(cfg.device, n_gpus, strict=strict)
    model = cfg.model_path or model_path
    if not model:
        raise EngineError("no model to train: set grpo.model_path, or run sft first, or set model.path")
    env = grpo_env(device, family, stage)
    launcher = python or launch_python("rl")
    rollout = str(cfg.passthrough.get("actor_rollout_ref.rollout.name", cfg.rollout_name))
    env.update(guard_rollout_timing(family, rollout, device, launcher))  # Qwen2.5-VL video timing on vLLM
    overrides = render_grpo_overrides(
        cfg, model_path=model, family=family, device=device, n_gpus=n_gpus, worker_env=env
    )
    argv = [launcher, "-m", "verl.trainer.main_ppo"]
    argv += [f"{key}={hydra_value(value)}" for key, value in overrides.items()]
    return LaunchPlan(argv=tuple(argv), env=env, cwd=str(stage), name="grpo")


def check_grpo_inputs(cfg: GRPOConfig, model_path: str) -> None:
    """Fail early on a missing dataset or model directory (instead of deep inside a Ray worker)."""
    data_dir = Path(cfg.data_dir)
    for name in ("train.parquet", "test.parquet"):
        if not (data_dir / name).is_file():
            raise DataError(f"{data_dir / name} not found: run `videokr data prepare-rl` to write it")
    model = cfg.model_path or model_path
    if model and (model.startswith((".", "/")) or Path(model).exists()) and not Path(model).is_dir():
        raise DataError(f"model directory {model} not found")


def train_grpo(
    cfg: GRPOConfig,
    *,
    stage_dir: str | os.PathLike[str],
    model_path: str = "",
    family: str = "qwen2_5_vl",
    python: str | None = None,
    dry_run: bool = False,
) -> tuple[LaunchPlan, int]:
    """Plan and run GRPO, then gather verl's per-step metrics into `stage_dir/metrics.jsonl`; plan + exit code."""
    plan = plan_grpo(cfg, stage_dir=stage_dir, model_path=model_path, family=family, python=python, strict=not dry_run)
    if dry_run:
        return plan, 0
    check_grpo_inputs(cfg, model_path)
    stage = Path(stage_dir)
    collect_metrics(stage)  # keep what an interrupted launch logged before verl truncates its file
    code = run_plan(plan, stage)
    collect_metrics(stage)
    if code != 0:
        logger.error("verl exited with %d; see %s", code, stage / "engine.log")
    return plan, code


def find_step_dir(checkpoint_dir: str | os.PathLike[str], step: int | None = None) -> Path:
    """`global_step_N` under a verl checkpoint directory: step N, or the latest one."""
    root = Path(checkpoint_dir)
    if STEP_DIR_RE.match(root.name):
        return root
    if not root.is_dir():
        raise DataError(f"checkpoint directory {root} not found")
    steps = {int(m.group(1)): p for p in root.iterdir() if (m := STEP_DIR_RE.match(p.name)) and p.is_dir()}
    if not steps:
        raise DataError(f"no global_step_N checkpoint in {root}")
    if step is None:
        return steps[max(steps)]
    if step not in steps:
        raise DataError(f"no global_step_{step} in {root} (have: {', '.join(map(str, sorted(steps)))})")
    return steps[step]


def plan_merge(
    cfg: MergeConfig, *, checkpoint_dir: str, stage_dir: str | os.PathLike[str], python: str | None = None
) -> tuple[LaunchPlan, Path]:
    """`python -m verl.model_merger merge` for the chosen step's actor shards; returns the plan and target dir."""
    step_dir = find_step_dir(cfg.checkpoint_dir or checkpoint_dir, cfg.step)
    actor = step_dir / "actor"
    if not actor.is_dir():
        raise DataError(f"{actor} not found: {step_dir} holds no actor checkpoint")
    target = Path(cfg.target_dir) if cfg.target_dir else step_dir.parent.parent / "merged" / step_dir.name
    argv = (
        python or launch_python("rl"),
        "-m",
        "verl.model_merger",
        "merge",
        "--backend",
        cfg.backend,
        "--local_dir",
        str(actor.absolute()),
        "--target_dir",
        str(target.absolute()),
    )
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    return LaunchPlan(argv=argv, env=env, cwd=str(Path(stage_dir).absolute()), name="merge"), target


def merge_checkpoint(
    cfg: MergeConfig,
    *,
    checkpoint_dir: str,
    stage_dir: str | os.PathLike[str],
    python: str | None = None,
    dry_run: bool = False,
) -> tuple[LaunchPlan, Path, int]:
    """Merge to HF, copy the processor files verl leaves out, and (optionally) check it loads and generates."""
    plan, target = plan_merge(cfg, checkpoint_dir=checkpoint_dir, stage_dir=stage_dir, python=python)
    if dry_run:
        return plan, target, 0
    code = run_plan(plan, stage_dir)
    if code != 0:
        logger.error("verl.model_merger exited with %d; see %s", code, Path(stage_dir) / "engine.log")
        return plan, target, code
    actor = find_step_dir(cfg.checkpoint_dir or checkpoint_dir, cfg.step) / "actor"
    copy_processor_files(actor / "huggingface", target)
    if cfg.check_generate:
        from videokr.engines.verl_check import check_generates

        check_generates(target)
    return plan, target, 0


def copy_processor_files(source: Path, target: Path) -> list[str]:
    """Copy tokenizer / processor / chat-template files the merger does not write; returns the names copied."""
    copied: list[str] = []
    if not source.is_dir():
        return copied
    for path in sorted(source.iterdir()):
        if path.is_file() and not (target / path.name).exists() and not path.name.endswith(".safetensors"):
            (target / path.name).write_bytes(path.read_bytes())
            copied.append(path.name)
    return copied


def read_latest_step(checkpoint_dir: str | os.PathLike[str]) -> int | None:
    """verl's `latest_checkpointed_iteration.txt`, or None when no checkpoint was written."""
    path = Path(checkpoint_dir) / "latest_checkpointed_iteration.txt"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
