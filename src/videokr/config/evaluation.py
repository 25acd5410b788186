"""The evaluation stage config: lmms-eval launch settings and the published generation settings (PROTOCOL.md 6)."""

from dataclasses import dataclass, field
from typing import Any, Literal

# vllm: videokr's lmms-eval model on vLLM (`videokr_vllm`, each video with its timing); vllm_generate: lmms-eval's
# own, which fails on Qwen2.5-VL videos (README, "Evaluation on vLLM"); qwen2_5_vl / qwen3_vl: the HF models.
EvalBackend = Literal["auto", "vllm", "vllm_generate", "qwen2_5_vl", "qwen3_vl"]


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling and video settings used for every published number."""

    max_new_tokens: int = 8192
    temperature: float = 0.1
    top_p: float = 0.001
    do_sample: bool = True
    fps: float = 2.0
    max_frames: int = 128
    max_pixels: int = 200704
    max_model_len: int = 32768


@dataclass(frozen=True)
class EvalConfig:
    """`videokr eval`: which model, which tasks, which data; `model_args` / `passthrough` reach lmms-eval verbatim."""

    env: str = "eval"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    model: str = ""  # empty: the checkpoint of the previous stage (pipeline) or --model
    family: Literal["auto", "qwen2_5_vl", "qwen3_vl"] = "auto"  # auto: read from the checkpoint's config.json
    backend: EvalBackend = "auto"  # auto: vllm on GPU, the HF model class of the family on CPU
    tasks: tuple[str, ...] = ("videokr_eval",)
    data_file: str = ""  # VideoKR_eval.jsonl for videokr_eval
    video_root: str = ""  # empty: the data file's directory
    limit: int | None = None
    output_dir: str = "runs/eval"
    batch_size: int = 1
    chunk_size: int = 256  # rows per lmms-eval launch for videokr_eval: a killed run loses at most one chunk
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    prompt_style: Literal["compat", "unified"] = "compat"
    judge: str = ""  # empty: rule scoring only (open-ended rows skipped); e.g. openai:gpt-4o
    seed: int = 42
    # `videokr run` evaluates these checkpoints of the run: base, sft, grpo (the merged model) or paths.
    models: tuple[str, ...] = ("grpo",)
    # When set, the last of `models` is evaluated once more with the clips under this root, in which every
    # frame is blank: a control that must fall to chance if answers really come from the video.
    blank_video_root: str = ""
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    model_args: dict[str, Any] = field(default_factory=dict)
    passthrough: dict[str, Any] = field(default_factory=dict)  # extra lmms-eval flags: {"verbosity": "DEBUG"}
