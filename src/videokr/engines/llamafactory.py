"""SFT with LLaMA-Factory 0.9.5: render its YAML (+ DeepSpeed JSON) from an SFTConfig and launch `llamafactory-cli`.

LLaMA-Factory resumes by itself from the last `checkpoint-*` in `output_dir`, so re-running an interrupted SFT
stage with the same plan continues it.
"""

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from videokr.config.sft import SFTConfig
from videokr.engines.base import Device, LaunchPlan, count_gpus, resolve_device, run_plan, venv_executable
from videokr.engines.envs import launch_python
from videokr.errors import DataError, EngineError

logger = logging.getLogger(__name__)

# LLaMA-Factory chat template per model family (PROTOCOL.md section 7).
TEMPLATES = {"qwen2_5_vl": "qwen2_vl", "qwen3_vl": "qwen3_vl"}

_ZERO_FP16 = {
    "enabled": "auto",
    "loss_scale": 0,
    "loss_scale_window": 1000,
    "initial_scale_power": 16,
    "hysteresis": 2,
    "min_loss_scale": 1,
}


def deepspeed_config(kind: str) -> dict[str, Any]:
    """LLaMA-Factory's own DeepSpeed JSON (examples/deepspeed) for `zero3`, `zero3_offload` or `zero2`."""
    if kind == "zero2":
        zero: dict[str, Any] = {
            "stage": 2,
            "allgather_partitions": True,
            "allgather_bucket_size": 5e8,
            "overlap_comm": False,
            "reduce_scatter": True,
            "reduce_bucket_size": 5e8,
            "contiguous_gradients": True,
            "round_robin_gradients": True,
        }
    elif kind in ("zero3", "zero3_offload"):
        zero = {
            "stage": 3,
            "overlap_comm": False,
            "contiguous_gradients": True,
            "sub_group_size": 1e9,
            "reduce_bucket_size": "auto",
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1e9,
            "stage3_max_reuse_distance": 1e9,
            "stage3_gather_16bit_weights_on_model_save": True,
        }
        if kind == "zero3_offload":
            zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    else:
        raise EngineError(f"unknown deepspeed setting {kind!r}: use zero3, zero3_offload, zero2 or none")
    return {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": True,
        "fp16": dict(_ZERO_FP16),
        "bf16": {"enabled": "auto"},
        "zero_optimization": zero,
    }


def resolve_template(cfg: SFTConfig, family: str) -> str:
    """The chat template: the config's, else the one published for the model family."""
    if cfg.template:
        return cfg.template
    if family not in TEMPLATES:
        raise EngineError(f"unknown model family {family!r}: set sft.template (qwen2_vl or qwen3_vl)")
    return TEMPLATES[family]


def render_sft_args(cfg: SFTConfig, *, model_path: str, template: str, device: Device, deepspeed_path: str) -> dict:
    """The LLaMA-Factory train arguments (its own key names); `passthrough` keys are applied last."""
    gpu = device == "gpu"
    args: dict[str, Any] = {
        "model_name_or_path": model_path,
        "trust_remote_code": True,
        "use_fast_tokenizer": cfg.use_fast_tokenizer,
        "flash_attn": cfg.flash_attn if gpu else "sdpa",
        "stage": "sft",
        "do_train": True,
        "finetuning_type": cfg.finetuning_type,
        "freeze_vision_tower": cfg.freeze_vision_tower,
        "freeze_multi_modal_projector": cfg.freeze_multi_modal_projector,
        "freeze_language_model": cfg.freeze_language_model,
        "dataset": cfg.dataset,
        "dataset_dir": _absolute(cfg.dataset_dir),
        "template": template,
        "cutoff_len": cfg.cutoff_len,
        "overwrite_cache": cfg.overwrite_cache,
        "preprocessing_num_workers": cfg.preprocessing_num_workers if gpu else None,
        "dataloader_num_workers": cfg.dataloader_num_workers if gpu else 0,
        "video_fps": cfg.video_fps,
        "video_maxlen": cfg.video_maxlen,
        "video_max_pixels": cfg.video_max_pixels,
        "output_dir": _absolute(cfg.output_dir),
        "logging_steps": cfg.logging_steps,
        "save_steps": cfg.save_steps,
        "save_only_model": cfg.save_only_model,
        "plot_loss": True,
        "report_to": cfg.report_to if gpu else "none",
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "learning_rate": cfg.learning_rate,
        "num_train_epochs": cfg.num_train_epochs,
        "lr_scheduler_type": cfg.lr_scheduler_type,
        "warmup_ratio": cfg.warmup_ratio,
        "weight_decay": cfg.weight_decay,
        "bf16": cfg.bf16 if gpu else False,
        "fp16": False,
        "ddp_timeout": 180000000,
        "seed": cfg.seed,
    }
    if cfg.media_dir:
        args["media_dir"] = _absolute(cfg.media_dir)
    if cfg.video_min_pixels is not None:
        args["video_min_pixels"] = cfg.video_min_pixels
    if cfg.max_steps is not None:
        args["max_steps"] = cfg.max_steps
    if not cfg.gradient_checkpointing:
        args["disable_gradient_checkpointing"] = True
    if gpu and cfg.deepspeed != "none":
        args["deepspeed"] = deepspeed_path
    if not gpu:
        args["use_cpu"] = True
        if cpu_world_size(cfg) > 1:
            args["ddp_backend"] = "gloo"  # torch.distributed on CPU; NCCL needs GPUs
    args = {k: v for k, v in args.items() if v is not None}
    args.update(cfg.passthrough)
    return args


def plan_sft(
    cfg: SFTConfig,
    *,
    stage_dir: str | os.PathLike[str],
    model_path: str = "",
    family: str = "qwen2_5_vl",
    python: str | None = None,
    gpus: int | None = None,
    strict: bool = True,
) -> LaunchPlan:
    """The LLaMA-Factory launch for `cfg`: sft.yaml (+ ds_config.json on GPU) and `llamafactory-cli train`.

    `strict=False` (dry runs) plans device=gpu even where no GPU is visible.
    """
    stage = Path(stage_dir).absolute()
    n_gpus = count_gpus() if gpus is None else gpus
    device = resolve_device(cfg.device, n_gpus, strict=strict)
    model = cfg.model_name_or_path or model_path
    if not model:
        raise EngineError("no model to fine-tune: set model.path in the recipe or sft.model_name_or_path")
    ds_path = str(stage / "ds_config.json")
    args = render_sft_args(
        cfg, model_path=model, template=resolve_template(cfg, family), device=device, deepspeed_path=ds_path
    )
    yaml_path = str(stage / "llamafactory_sft.yaml")
    files = {yaml_path: yaml.safe_dump(args, sort_keys=False, allow_unicode=True)}
    env = {"DISABLE_VERSION_CHECK": "1"}
    exe = venv_executable(python or launch_python("sft"), "llamafactory-cli")
    if device == "gpu":
        if "deepspeed" in args and args["deepspeed"] == ds_path:
            files[ds_path] = json.dumps(deepspeed_config(cfg.deepspeed), indent=2) + "\n"
        env.update(_torchrun_env(cfg, n_gpus, exe))
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
        # Tiny CPU models train ~10x faster on one thread when anything else shares the cores (measured on the
        # demo: 4-5 steps/s vs 0.3-0.5); a value the caller exported wins.
        env["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "1")
        if cpu_world_size(cfg) > 1:  # the same torchrun launch as on GPUs, one process per nproc_per_node
            env.update(_torchrun_env(cfg, 1, exe))
    return LaunchPlan(argv=(exe, "train", yaml_path), env=env, cwd=str(stage), files=files, name="sft")


def cpu_world_size(cfg: SFTConfig) -> int:
    """Processes of a CPU run: nnodes x nproc_per_node (one per node when unset, as there is no GPU to count)."""
    return cfg.distributed.nnodes * (cfg.distributed.nproc_per_node or 1)


def _torchrun_env(cfg: SFTConfig, n_gpus: int, exe: str) -> dict[str, str]:
    # llamafactory-cli reads these and starts torchrun itself (llamafactory/launcher.py), finding it on PATH.
    dist = cfg.distributed
    per_node = dist.nproc_per_node or n_gpus or "auto"  # torchrun's own choice when planned without a GPU
    env = {
        "FORCE_TORCHRUN": "1",
        "NNODES": str(dist.nnodes),
        "NODE_RANK": str(dist.node_rank),
        "NPROC_PER_NODE": str(per_node),
        "MASTER_ADDR": dist.master_addr,
        "MASTER_PORT": str(dist.master_port),
    }
    torchrun = Path(exe).parent / "torchrun"
    if torchrun.is_file() and shutil.which("torchrun") != str(torchrun):
        env["PATH"] = f"{torchrun.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # the sft environment's torchrun
    return env


def _absolute(path: str) -> str:
    return str(Path(path).absolute()) if path else path


def check_sft_inputs(cfg: SFTConfig) -> None:
    """Fail early when the dataset is missing (instead of deep inside LLaMA-Factory)."""
    info = Path(cfg.dataset_dir) / "dataset_info.json"
    if not info.is_file():
        raise DataError(f"{info} not found: run `videokr data prepare-sft` to write the SFT dataset there")
    try:
        entries = json.loads(info.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{info}: invalid JSON ({exc})") from exc
    if cfg.dataset not in entries:
        raise DataError(f"{info} has no dataset {cfg.dataset!r} (it has: {', '.join(sorted(entries)) or 'none'})")


def train_sft(
    cfg: SFTConfig,
    *,
    stage_dir: str | os.PathLike[str],
    model_path: str = "",
    family: str = "qwen2_5_vl",
    python: str | None = None,
    dry_run: bool = False,
) -> tuple[LaunchPlan, int]:
    """Plan and run SFT; returns the plan and the engine's exit code (0 without running when `dry_run`)."""
    plan = plan_sft(cfg, stage_dir=stage_dir, model_path=model_path, family=family, python=python, strict=not dry_run)
    if dry_run:
        return plan, 0
    check_sft_inputs(cfg)
    code = run_plan(plan, stage_dir)
    if code != 0:
        logger.error("LLaMA-Factory exited with %d; see %s", code, Path(stage_dir) / "engine.log")
    return plan, code
