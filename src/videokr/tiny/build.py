"""Build a tiny random Qwen2.5-VL or Qwen3-VL checkpoint offline: tokenizer, config, weights, processor."""

import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from videokr.deps import require
from videokr.errors import DataError
from videokr.families import FAMILIES, Family
from videokr.tiny.templates import CHAT_TEMPLATES
from videokr.tiny.tokenizer import build_tokenizer

log = logging.getLogger(__name__)

Size = Literal["small", "demo"]
SIZES: tuple[Size, ...] = ("small", "demo")


@dataclass(frozen=True)
class SizeSpec:
    """Widths and depths of one tiny size."""

    max_vocab: int  # an upper bound: the BPE stops merging when the corpus has no pair seen twice left
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    mlp: int
    vision_hidden: int
    vision_depth: int
    vision_heads: int
    vision_mlp: int


SPECS: dict[Size, SizeSpec] = {
    "small": SizeSpec(512, 64, 2, 4, 2, 256, 32, 2, 2, 128),
    "demo": SizeSpec(768, 128, 3, 4, 2, 512, 64, 2, 4, 256),
}


@dataclass(frozen=True)
class FamilySpec:
    """What differs between the two Qwen-VL generations."""

    model_class: str
    processor_class: str
    video_processor_class: str
    patch_size: int
    rope_theta: float
    # head_dim/2 frequency slots split between time, height and width
    mrope: dict[int, list[int]]
    # fixed pixel budgets that give every same-shaped clip the same small grid (multiples of (patch*merge)^2)
    image_pixels: int
    video_pixels: int
    generation: dict[str, Any]


FAMILY_SPECS: dict[Family, FamilySpec] = {
    "qwen2_5_vl": FamilySpec(
        model_class="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        video_processor_class="Qwen2VLVideoProcessor",
        patch_size=14,
        rope_theta=1000000.0,
        mrope={16: [2, 3, 3], 32: [4, 6, 6]},  # the real [16, 24, 24] scaled down
        image_pixels=56 * 56,  # per frame: a 64x64 frame -> 56x56 -> 4x4 patches -> 4 tokens
        video_pixels=56 * 56,
        generation={"do_sample": True, "repetition_penalty": 1.05, "temperature": 0.1, "top_p": 0.001, "top_k": 1},
    ),
    "qwen3_vl": FamilySpec(
        model_class="Qwen3VLForConditionalGeneration",
        processor_class="Qwen3VLProcessor",
        video_processor_class="Qwen3VLVideoProcessor",
        patch_size=16,
        rope_theta=5000000.0,
        mrope={16: [4, 2, 2], 32: [6, 5, 5]},  # the real [24, 20, 20] scaled down (interleaved)
        image_pixels=64 * 64,
        video_pixels=4 * 64 * 64,  # Qwen3-VL budgets frames x height x width: 4 frames of 64x64 -> 8 tokens
        generation={"do_sample": True, "repetition_penalty": 1.0, "temperature": 0.7, "top_p": 0.8, "top_k": 20},
    ),
}


def token_ids(tokenizer: Any) -> dict[str, int]:
    """The special-token ids a Qwen-VL config needs, read from the tokenizer."""
    names = {
        "bos_token_id": "<|endoftext|>",
        "pad_token_id": "<|endoftext|>",
        "eos_token_id": "<|im_end|>",
        "image_token_id": "<|image_pad|>",
        "video_token_id": "<|video_pad|>",
        "vision_start_token_id": "<|vision_start|>",
        "vision_end_token_id": "<|vision_end|>",
    }
    return {key: int(tokenizer.convert_tokens_to_ids(token)) for key, token in names.items()}


def model_config(family: Family, size: Size, ids: dict[str, int], vocab_size: int) -> dict[str, Any]:
    """The config.json content of a tiny checkpoint."""
    spec, fam = SPECS[size], FAMILY_SPECS[family]
    head_dim = spec.hidden // spec.heads
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": fam.rope_theta, "mrope_section": fam.mrope[head_dim]}
    text: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": spec.hidden,
        "intermediate_size": spec.mlp,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "rope_parameters": rope,
        "bos_token_id": ids["bos_token_id"],
        "eos_token_id": ids["eos_token_id"],
        "pad_token_id": ids["pad_token_id"],
        "dtype": "float32",
    }
    vision: dict[str, Any] = {
        "depth": spec.vision_depth,
        "hidden_size": spec.vision_hidden,
        "intermediate_size": spec.vision_mlp,
        "num_heads": spec.vision_heads,
        "out_hidden_size": spec.hidden,
        "patch_size": fam.patch_size,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    if family == "qwen2_5_vl":
        vision.update({"window_size": 112, "fullatt_block_indexes": [spec.vision_depth - 1], "tokens_per_second": 2})
    else:
        text.update({"head_dim": head_dim})
        rope["mrope_interleaved"] = True
        vision.update(
            {"num_position_embeddings": 64, "deepstack_visual_indexes": [0], "hidden_act": "gelu_pytorch_tanh"}
        )
    return {
        "model_type": family,
        "architectures": [FAMILY_SPECS[family].model_class],
        "text_config": text,
        "vision_config": vision,
        "tie_word_embeddings": False,
        **{
            key: ids[key]
            for key in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
        },
    }


def build_processor(family: Family, tokenizer: Any) -> Any:
    """The family's processor with fixed small pixel budgets, the tokenizer and the real chat template."""
    transformers = require("transformers")
    fam = FAMILY_SPECS[family]
    factor = fam.patch_size * 2
    video_kwargs: dict[str, Any] = {
        "size": {"shortest_edge": fam.video_pixels, "longest_edge": fam.video_pixels},
        "patch_size": fam.patch_size,
    }
    assert fam.video_pixels % (factor * factor) == 0, "pixel budgets must be whole (patch * merge)^2 blocks"
    video_processor = getattr(transformers, fam.video_processor_class)(**video_kwargs)
    # One normalisation for images and videos, as in the real checkpoints (Qwen3-VL: mean = std = 0.5; Qwen2.5-VL:
    # CLIP's). The image processor's class defaults to CLIP's, and vLLM normalises video pixels on the device with
    # the image processor's mean/std (mm_device_do_normalize), so a mismatch feeds vLLM's vision tower other pixels.
    image_processor = transformers.Qwen2VLImageProcessor(
        size={"shortest_edge": fam.image_pixels, "longest_edge": fam.image_pixels},
        patch_size=fam.patch_size,
        image_mean=list(video_processor.image_mean),
        image_std=list(video_processor.image_std),
    )
    processor_class = getattr(transformers, fam.processor_class)
    return processor_class(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATES[family],
    )


def build_tiny_model(
    out: str | Path,
    family: Family,
    size: Size = "small",
    seed: int = 0,
    *,
    extra_text: Iterable[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write a random Qwen-VL checkpoint (tokenizer, processor, config, safetensors, generation config) to `out`.

    Deterministic given (family, size, seed, extra_text); `extra_text` joins the tokenizer's training corpus.
    The directory appears whole or not at all.
    """
    if family not in FAMILIES:
        raise DataError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    if size not in SPECS:
        raise DataError(f"unknown tiny size {size!r}; choose one of {', '.join(SPECS)}")
    target = Path(out)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise DataError(f"{target} exists and is not empty; choose another path or overwrite it")
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a checkpoint is shared like any other output
    try:
        _write_checkpoint(staging, family, size, seed, extra_text)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("built tiny %s (%s) at %s in %.1f s", family, size, target, time.perf_counter() - started)
    return target


def _write_checkpoint(out: Path, family: Family, size: Size, seed: int, extra_text: Iterable[str]) -> None:
    torch = require("torch")
    transformers = require("transformers")
    tokenizer = build_tokenizer(family, SPECS[size].max_vocab, CHAT_TEMPLATES[family], extra_text)
    ids = token_ids(tokenizer)
    config = transformers.AutoConfig.for_model(**model_config(family, size, ids, len(tokenizer)))
    with _seeded(torch, seed):
        model = getattr(transformers, FAMILY_SPECS[family].model_class)(config).eval()
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=ids["bos_token_id"],
        pad_token_id=ids["pad_token_id"],
        eos_token_id=[ids["eos_token_id"], ids["bos_token_id"]],
        **FAMILY_SPECS[family].generation,
    )
    model.save_pretrained(out)
    build_processor(family, tokenizer).save_pretrained(out)
    tokenizer.save_pretrained(out)
    for path in out.iterdir():
        path.chmod(0o644)  # safetensors are written private; make every file readable like the rest


@contextlib.contextmanager
def _seeded(torch: Any, seed: int) -> Any:
    """Seed torch's CPU generator for the weight init, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename the finished staging dir onto `target`, removing what was there only once the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def count_parameters(model_dir: str | Path) -> int:
    """Number of parameters stored in a checkpoint's safetensors files (read from headers, no torch)."""
    total = 0
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise DataError(f"{model_dir}: no *.safetensors files")
    for path in files:
        with open(path, "rb") as handle:
            header_len = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_len))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total
