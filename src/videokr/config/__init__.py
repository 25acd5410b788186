"""Stage configs (frozen dataclasses) and the machinery that loads them from YAML plus dotted overrides."""

from videokr.config.base import (
    apply_overrides,
    coerce,
    from_dict,
    load_config,
    parse_override,
    to_dict,
    to_yaml,
)
from videokr.config.evaluation import EvalConfig, GenerationConfig
from videokr.config.grpo import ClusterConfig, GRPOConfig, MergeConfig, RewardConfig
from videokr.config.recipe import DataConfig, Family, ModelConfig, RecipeConfig, load_recipe
from videokr.config.sft import DistributedConfig, SFTConfig

__all__ = [
    "ClusterConfig",
    "DataConfig",
    "DistributedConfig",
    "EvalConfig",
    "Family",
    "GRPOConfig",
    "GenerationConfig",
    "MergeConfig",
    "ModelConfig",
    "RecipeConfig",
    "RewardConfig",
    "SFTConfig",
    "apply_overrides",
    "coerce",
    "from_dict",
    "load_config",
    "load_recipe",
    "parse_override",
    "to_dict",
    "to_yaml",
]
