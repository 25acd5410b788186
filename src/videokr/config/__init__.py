"""Stage configs (frozen dataclasses) and the machinery that loads them from YAML plus dotted overrides."""

from videokr.config.base import (
    SECTIONS,
    apply_overrides,
    coerce,
    from_dict,
    load_config,
    parse_override,
    register_section,
    to_dict,
    to_yaml,
)
from videokr.config.evaluation import EvalConfig, GenerationConfig
from videokr.config.recipe import DataConfig, Family, ModelConfig, RecipeConfig, load_recipe
from videokr.config.sft import DistributedConfig, SFTConfig

try:  # the GRPO / merge sections register themselves when their module exists
    import videokr.config.grpo  # noqa: F401
except ModuleNotFoundError as exc:
    if exc.name != "videokr.config.grpo":
        raise

__all__ = [
    "SECTIONS",
    "DataConfig",
    "DistributedConfig",
    "EvalConfig",
    "Family",
    "GenerationConfig",
    "ModelConfig",
    "RecipeConfig",
    "SFTConfig",
    "apply_overrides",
    "coerce",
    "from_dict",
    "load_config",
    "load_recipe",
    "parse_override",
    "register_section",
    "to_dict",
    "to_yaml",
]
