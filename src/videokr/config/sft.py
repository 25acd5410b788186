"""The SFT stage config: LLaMA-Factory's own key names, defaults from the published settings (PROTOCOL.md section 7)."""

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class DistributedConfig:
    """torchrun / multi-node launch settings (LLaMA-Factory reads them from NNODES, NODE_RANK, ... env vars)."""

    nnodes: int = 1
    node_rank: int = 0
    nproc_per_node: int | None = None  # None: every visible GPU
    master_addr: str = "127.0.0.1"
    master_port: int = 29500


@dataclass(frozen=True)
class SFTConfig:
    """Full SFT of a Qwen-VL model with LLaMA-Factory; `passthrough` keys go verbatim into its YAML."""

    env: str = "sft"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    model_name_or_path: str = ""  # empty: the recipe's model.path
    template: str = ""  # empty: qwen2_vl / qwen3_vl from the model family
    dataset: str = "videokr_train"
    dataset_dir: str = ""  # empty: what prepare-sft wrote in the run (<output_dir>/prepare-sft/data)
    media_dir: str = ""  # empty: LLaMA-Factory joins relative video paths to dataset_dir
    output_dir: str = ""  # empty: <output_dir>/sft/checkpoint of the run
    finetuning_type: Literal["full", "freeze", "lora"] = "full"
    freeze_vision_tower: bool = True
    freeze_multi_modal_projector: bool = True
    freeze_language_model: bool = False
    learning_rate: float = 1e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.02
    weight_decay: float = 1e-6
    num_train_epochs: float = 1.0
    max_steps: int | None = None  # None: run the epochs
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 4
    cutoff_len: int = 16384
    video_fps: float = 2.0
    video_maxlen: int = 128
    video_max_pixels: int = 100352
    video_min_pixels: int | None = None
    bf16: bool = True
    deepspeed: Literal["zero3", "zero3_offload", "zero2", "none"] = "zero3"
    flash_attn: Literal["auto", "disabled", "sdpa", "fa2", "fa3"] = "fa2"
    use_fast_tokenizer: bool = False
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    save_steps: int = 500
    save_only_model: bool = False
    preprocessing_num_workers: int | None = 16
    dataloader_num_workers: int = 4
    overwrite_cache: bool = True
    report_to: str = "none"
    seed: int = 42
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    passthrough: dict[str, Any] = field(default_factory=dict)
