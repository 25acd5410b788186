"""Tiny random Qwen2.5-VL / Qwen3-VL checkpoints built offline, for the demo and the tests (ENGINES.md 3).

`build_tiny_model(out, "qwen2_5_vl" | "qwen3_vl", "small" | "demo", seed)` writes a complete Hugging Face
checkpoint directory (byte-level BPE tokenizer with the Qwen special tokens and chat template, processor,
config, random safetensors weights, generation config) that `AutoProcessor` and
`AutoModelForImageTextToText` load and that LLaMA-Factory, verl and lmms-eval accept. Run:
`videokr tiny build --family qwen3_vl --size small runs/tiny-qwen3`. `videokr.tiny.train` gives such a checkpoint
the short perception pre-training that makes it the demo's base model (imported on use: it needs torch).
"""

from typing import TYPE_CHECKING, Any

from videokr.families import detect_family
from videokr.tiny.build import (
    FAMILIES,
    FAMILY_SPECS,
    SIZES,
    SPECS,
    Family,
    Size,
    build_tiny_model,
    count_parameters,
)

if TYPE_CHECKING:
    from videokr.tiny.frames import frames_metadata, read_frames, sample_indices

_FRAMES = frozenset({"frames_metadata", "read_frames", "sample_indices"})


def __getattr__(name: str) -> Any:
    # The frame reader imports numpy and PyAV (~0.2 s): loaded on first use, not by every command's parser.
    if name in _FRAMES:
        from videokr.tiny import frames

        return getattr(frames, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FAMILIES",
    "FAMILY_SPECS",
    "SIZES",
    "SPECS",
    "Family",
    "Size",
    "build_tiny_model",
    "count_parameters",
    "detect_family",
    "frames_metadata",
    "read_frames",
    "sample_indices",
]
