"""The experiment recipe: shared `model` / `data` settings plus one section per stage (sft, grpo, merge, eval)."""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from videokr.config.base import load_config
from videokr.config.evaluation import EvalConfig
from videokr.config.grpo import GRPOConfig, MergeConfig
from videokr.config.sft import SFTConfig
from videokr.families import Family


@dataclass(frozen=True)
class ModelConfig:
    """The base model every stage starts from."""

    path: str = ""  # local directory or hub id
    family: Family = "qwen2_5_vl"


@dataclass(frozen=True)
class DataConfig:
    """Where the corpus lives (the output of `videokr data download`, or any files in the VideoKR format)."""

    sft_file: str = ""  # VideoKR-COT jsonl
    rl_file: str = ""  # VideoKR-RL jsonl
    eval_file: str = ""  # VideoKR_eval.jsonl
    video_root: str = ""
    prompt_style: Literal["compat", "unified"] = "compat"
    rl_val_size: int = 500  # the published RL split (PROTOCOL.md section 4)
    rl_seed: int = 42
    workers: int = 1  # processes probing videos and counting tokens (prepare-rl); 0 with ray_address: its CPUs
    ray_address: str = ""  # run that work as tasks on this Ray cluster (host:port or auto) instead


@dataclass(frozen=True)
class RecipeConfig:
    """A whole experiment: the shared model and data, then one typed section per stage."""

    name: str = "videokr"
    output_dir: str = "runs"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def load_recipe(
    source: str | os.PathLike[str] | Mapping[str, Any] | None, overrides: Sequence[str] = ()
) -> RecipeConfig:
    """Load a recipe (a YAML file, or a shipped recipe's name) with `section.key=value` overrides."""
    from videokr.recipes import resolve_recipe

    if isinstance(source, str | os.PathLike):
        source = resolve_recipe(source)
    return load_config(RecipeConfig, source, overrides)
