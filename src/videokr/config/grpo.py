"""The GRPO and merge stage configs: verl's own key names, defaults from the published settings (PROTOCOL.md 7)."""

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ClusterConfig:
    """Where verl runs: nodes, GPUs per node (None: every visible GPU), and an existing Ray cluster to join."""

    nnodes: int = 1
    n_gpus_per_node: int | None = None
    ray_address: str = ""  # e.g. "auto" or "10.0.0.1:6379"; empty: verl starts a local Ray instance


@dataclass(frozen=True)
class RewardConfig:
    """The verl custom reward: a file and function verl loads, and keyword arguments passed to every call."""

    path: str = ""  # empty: videokr.rewards (its compute_score, PROTOCOL.md section 5)
    name: str = "compute_score"
    kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {mc_normalize: true}


@dataclass(frozen=True)
class GRPOConfig:
    """GRPO with verl's `main_ppo` on Ray; `passthrough` holds extra Hydra overrides (`key: value`) verbatim."""

    env: str = "rl"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    model_path: str = ""  # empty: the run's SFT checkpoint when there is one, else model.path (run/inputs.py)
    data_dir: str = ""  # train.parquet / test.parquet; empty: what prepare-rl wrote in the run
    output_dir: str = ""  # verl's trainer.default_local_dir (global_step_N/actor); empty: <run>/grpo/checkpoints
    project_name: str = "videokr"
    experiment_name: str = "grpo"
    lr: float = 5e-6
    total_epochs: int = 1
    total_training_steps: int | None = None  # None: run the epochs
    train_batch_size: int = 32
    rollout_n: int = 8
    ppo_mini_batch_size: int = 8
    ppo_micro_batch_size_per_gpu: int = 4
    log_prob_micro_batch_size_per_gpu: int = 4
    max_prompt_length: int = 16384
    max_response_length: int = 2048
    temperature: float = 1.0
    use_kl_loss: bool = True
    kl_loss_coef: float = 0.01
    kl_loss_type: str = "low_var_kl"
    use_kl_in_reward: bool = False
    entropy_coeff: float = 0.0
    rollout_name: str = "vllm"  # on GPU; CPU runs always use videokr's `hf` rollout
    tensor_model_parallel_size: int = 1
    gpu_memory_utilization: float = 0.6
    agent_num_workers: int | None = None  # None: verl's 8 on GPU, 1 on CPU (each costs ~1 GB of RAM)
    gradient_checkpointing: bool = True
    ref_param_offload: bool = True
    image_patch_size: int | None = None  # None: 16 for Qwen3-VL, 14 for Qwen2.5-VL
    filter_overlong_prompts: bool = False  # prepare-rl already dropped over-long prompts from metadata
    save_freq: int = 20
    test_freq: int = 20
    val_before_train: bool = False
    resume_mode: Literal["auto", "disable", "resume_path"] = "auto"
    logger: tuple[str, ...] = ("console", "file")
    seed: int = 42
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    passthrough: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeConfig:
    """verl's model merger: FSDP shards of `global_step_N/actor` -> a Hugging Face checkpoint, then a load check."""

    env: str = "rl"
    checkpoint_dir: str = ""  # empty: the run's GRPO checkpoints
    step: int | None = None  # None: the latest global_step_N
    target_dir: str = ""  # empty: <output_dir>/merge/hf of the run
    backend: Literal["fsdp"] = "fsdp"
    check_generate: bool = True  # load the merged model and generate from a video prompt
