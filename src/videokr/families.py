"""The model families videokr trains, and how to tell a checkpoint's family."""

import json
import os
from pathlib import Path
from typing import Literal

from videokr.errors import ConfigError

Family = Literal["qwen2_5_vl", "qwen3_vl"]
FAMILIES: tuple[Family, ...] = ("qwen2_5_vl", "qwen3_vl")


def family_from_model_type(model_type: str) -> Family:
    """Map a config.json `model_type` to a family.

    >>> family_from_model_type("qwen2_vl"), family_from_model_type("qwen3_vl_moe")
    ('qwen2_5_vl', 'qwen3_vl')
    """
    if model_type in ("qwen2_5_vl", "qwen2_vl"):
        return "qwen2_5_vl"
    if model_type in ("qwen3_vl", "qwen3_vl_moe"):
        return "qwen3_vl"
    raise ConfigError(f"unsupported model_type {model_type!r}: expected qwen2_5_vl or qwen3_vl")


def family_from_name(name: str) -> Family | None:
    """Guess the family from a hub id or folder name (for models not on disk).

    >>> family_from_name("minuzero/VideoKR-Qwen3-VL-8B"), family_from_name("Qwen/Qwen2.5-VL-7B-Instruct")
    ('qwen3_vl', 'qwen2_5_vl')
    """
    squashed = name.lower().replace("-", "").replace("_", "").replace(".", "")
    if "qwen3" in squashed:
        return "qwen3_vl"
    if "qwen25" in squashed or "qwen2vl" in squashed:
        return "qwen2_5_vl"
    return None


def detect_family(model: str | os.PathLike[str], *, guess_from_name: bool = False) -> Family:
    """The family of a checkpoint from its config.json `model_type`; with `guess_from_name`, a hub id works too."""
    config = Path(model) / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type", "")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{config}: invalid JSON ({exc})") from exc
        return family_from_model_type(str(model_type))
    guessed = family_from_name(str(model)) if guess_from_name else None
    if guessed is None:
        raise ConfigError(f"cannot tell the model family of {model}: no config.json there; set the family explicitly")
    return guessed
