"""The build recipe: typed sections for the inputs, the endpoints, the budget and every stage (unknown keys fail).

Model steps name their candidate models: an endpoint's `name` from `endpoints`, or a built-in deterministic model
(`template` for scenarios and generation, `catalog` for relevance, `text-cue` and `rule` for quality control) that
runs offline, or `hf` for the qc solver and the difficulty band: a local checkpoint answering through HF generate; PROTOCOL.md and the README say what each built-in stands for.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from videokr.config.base import load_config

BUILTIN_MODELS = frozenset({"template", "catalog", "text-cue", "rule", "hf"})
SKILL_NAMES = ("VidR", "KnowVid", "KnowVidR")


@dataclass(frozen=True)
class EndpointConfig:
    """One OpenAI-compatible chat endpoint (hosted, or a local vLLM server) and how hard to call it."""

    name: str = ""  # what steps call it by
    model: str = ""  # the model name the endpoint serves
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this variable, never written
    concurrency: int = 8  # requests in flight at once
    requests_per_second: float = 0.0  # 0: no rate limit beyond the concurrency
    timeout_s: float = 60.0
    max_retries: int = 3  # after the first attempt; then the call is recorded as failed
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    temperature: float = 0.0
    max_tokens: int = 1024
    input_cost_per_mtok: float = 0.0  # USD per million prompt tokens, for the ledger and the budget
    output_cost_per_mtok: float = 0.0
    vision: bool = True  # whether frames may be sent to it


@dataclass(frozen=True)
class BudgetConfig:
    """Caps over the whole run directory (every stage, every re-run); 0 means no cap."""

    max_requests: int = 0
    max_tokens: int = 0
    max_cost_usd: float = 0.0


@dataclass(frozen=True)
class InputsConfig:
    """The expert-made inputs."""

    bank: str = ""  # knowledge bank jsonl: id, subject, course, lecture, name, definition (+ discipline, facts)
    seeds: str = ""  # seed examples jsonl: id, skill, question, answer (+ options, think, discipline)


@dataclass(frozen=True)
class FramesConfig:
    """How frames are sampled for vision steps (the project's frame plan, videokr.data.videos)."""

    fps: float = 1.0
    max_frames: int = 8
    max_side: int = 448  # frames are shrunk to fit this side before JPEG encoding


@dataclass(frozen=True)
class ScenariosConfig:
    """Step 2a: per knowledge point, 1-3 scenarios and search keywords."""

    models: tuple[str, ...] = ("template",)
    per_point: int = 2


@dataclass(frozen=True)
class YoutubeConfig:
    """The youtube source through yt-dlp: search, Creative Commons filter, metadata first, bounded download."""

    per_query: int = 5
    licence_contains: str = "creative commons"  # case-insensitive match on yt-dlp's `license` field
    min_duration_s: float = 25.0
    max_duration_s: float = 1800.0
    max_height: int = 360
    metadata_file: str = ""  # a recorded yt-dlp metadata file (jsonl of info dicts) replayed instead of searching
    download: bool = False  # metadata only unless set
    download_dir: str = ""


@dataclass(frozen=True)
class CollectConfig:
    """Step 2b: where the videos come from."""

    source: Literal["local", "youtube"] = "local"
    folder: str = ""  # local: every video file under it
    catalog: str = ""  # local: jsonl with video_path, source_id, licence (+ title, description, knowledge_id)
    licence: str = ""  # local folder: the licence of every video in it (required for a folder)
    video_root: str = ""  # what relative catalog paths are relative to (default: the catalog's folder)
    youtube: YoutubeConfig = field(default_factory=YoutubeConfig)


@dataclass(frozen=True)
class RelevanceConfig:
    """Step 2c: does a video fit its scenario; `metadata` (title, description) then `frames`, each must pass."""

    models: tuple[str, ...] = ("catalog",)
    passes: tuple[Literal["metadata", "frames"], ...] = ("metadata", "frames")
    min_score: float = 0.5


@dataclass(frozen=True)
class GenerateConfig:
    """Step 3: skill-oriented examples from a video and its knowledge point, guided by definitions and seeds."""

    models: tuple[str, ...] = ("template",)
    skills: tuple[str, ...] = SKILL_NAMES
    seeds_per_prompt: int = 3
    multiple_choice_fraction: float = 0.5
    seed: int = 0
    plant_shortcuts: int = 0  # template only: items answerable from the question text (the demo's proof)
    plant_bad_rationales: int = 0  # template only: items whose CoT does not reach the answer


@dataclass(frozen=True)
class SelfConsistencyConfig:
    """k solver samples with the video must agree with the answer; 0 samples disables the filter."""

    samples: int = 0
    min_agree: float = 0.6
    temperature: float = 0.7  # > 0 with a seed per sample: k samples are k different requests


@dataclass(frozen=True)
class VideoDependencyConfig:
    """Dropped when the solver answers right from the question alone, or from a single frame."""

    text_only: bool = True
    single_frame: bool = False


@dataclass(frozen=True)
class DifficultyConfig:
    """Optional band on the target model's pass rate over `samples` tries with the video; empty model disables."""

    model: str = ""  # an endpoint name, or hf (a local checkpoint: `checkpoint`, default qc.hf.checkpoint)
    checkpoint: str = ""
    samples: int = 4
    temperature: float = 0.7  # sampled like self-consistency, a seed per try
    min_pass: float = 0.0
    max_pass: float = 0.75


@dataclass(frozen=True)
class HFConfig:
    """The `hf` solver: a local Qwen2.5-VL / Qwen3-VL checkpoint answering through transformers' generate."""

    checkpoint: str = ""  # an HF checkpoint directory (e.g. the demo's base model, or a merged videokr run)
    max_new_tokens: int = 64
    device: str = "auto"  # auto: cuda when present, else cpu


@dataclass(frozen=True)
class QCConfig:
    """Step 3b: quality-control filters, each reported separately."""

    solver: str = "text-cue"  # an endpoint name, hf (a local checkpoint: `hf`), or text-cue (a text-only baseline)
    rationale_judge: str = "rule"  # an endpoint name, or rule (the CoT must state the answer); "" disables
    self_consistency: SelfConsistencyConfig = field(default_factory=SelfConsistencyConfig)
    video_dependency: VideoDependencyConfig = field(default_factory=VideoDependencyConfig)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)
    hf: HFConfig = field(default_factory=HFConfig)


@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark to decontaminate against."""

    rows: str = ""
    video_root: str = ""


@dataclass(frozen=True)
class DecontaminateConfig:
    """Optional: runs only when benchmarks are listed (videokr.data.decontam)."""

    benchmarks: tuple[BenchmarkConfig, ...] = ()
    against_videos: tuple[str, ...] = ()


@dataclass(frozen=True)
class SplitConfig:
    """Step 4: the video-level split into SFT (with CoT) and RL files."""

    rl_fraction: float = 0.4
    seed: int = 42
    dataset: str = ""  # the `dataset` label of every row (default: the build's name)


@dataclass(frozen=True)
class ReviewConfig:
    """People in the loop: sample size per step and model, and the accepted share a model must reach."""

    sample: int = 100
    bar: float = 0.9
    seed: int = 0


@dataclass(frozen=True)
class SelectedConfig:
    """The model each reviewed step keeps, written by `videokr build select` (empty: the step's first candidate)."""

    scenarios: str = ""
    relevance: str = ""
    generate: str = ""

    def get(self, step: str) -> str:
        """The selected model of `step` ("" when none)."""
        return str(getattr(self, step, ""))


@dataclass(frozen=True)
class BuildConfig:
    """A whole corpus build."""

    name: str = "build"
    output_dir: str = "runs/build"
    inputs: InputsConfig = field(default_factory=InputsConfig)
    endpoints: tuple[EndpointConfig, ...] = ()
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    cache_dir: str = ""  # default: <output_dir>/cache; share it between builds to share answers
    retry_failed: bool = False  # re-ask calls the cache recorded as failed
    frames: FramesConfig = field(default_factory=FramesConfig)
    scenarios: ScenariosConfig = field(default_factory=ScenariosConfig)
    collect: CollectConfig = field(default_factory=CollectConfig)
    relevance: RelevanceConfig = field(default_factory=RelevanceConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    qc: QCConfig = field(default_factory=QCConfig)
    decontaminate: DecontaminateConfig = field(default_factory=DecontaminateConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    selected: SelectedConfig = field(default_factory=SelectedConfig)

    def endpoint(self, name: str) -> EndpointConfig | None:
        """The endpoint called `name`, None for a built-in model."""
        return next((e for e in self.endpoints if e.name == name), None)


def check_models(config: BuildConfig) -> list[str]:
    """Every model name a step uses that is neither a built-in nor a listed endpoint (empty when all resolve)."""
    used = [
        *config.scenarios.models,
        *config.relevance.models,
        *config.generate.models,
        config.qc.solver,
        config.qc.rationale_judge,
        config.qc.difficulty.model,
    ]
    names = {e.name for e in config.endpoints}
    return [m for m in used if m and m not in BUILTIN_MODELS and m not in names]


def load_build(
    source: str | os.PathLike[str] | Mapping[str, Any] | None, overrides: Sequence[str] = ()
) -> BuildConfig:
    """Load a build recipe (a YAML file, or a shipped recipe's name such as build-demo) with dotted overrides."""
    from videokr.errors import ConfigError
    from videokr.recipes import resolve_recipe

    if isinstance(source, str | os.PathLike):
        source = resolve_recipe(source)
    config = load_config(BuildConfig, source, overrides)
    unknown = check_models(config)
    if unknown:
        known = sorted(BUILTIN_MODELS | {e.name for e in config.endpoints})
        raise ConfigError(f"unknown model(s) {', '.join(unknown)}: name an endpoint of `endpoints` or one of {known}")
    for step, models in (
        ("scenarios", config.scenarios.models),
        ("relevance", config.relevance.models),
        ("generate", config.generate.models),
    ):
        chosen = config.selected.get(step)
        if chosen and chosen not in models:
            raise ConfigError(f"selected.{step}: {chosen!r} is not a candidate of {step}.models {list(models)}")
    q = config.qc
    if q.solver == "hf" and not q.hf.checkpoint:
        raise ConfigError("qc.solver is hf: name the checkpoint directory in qc.hf.checkpoint")
    if q.difficulty.model == "hf" and not (q.difficulty.checkpoint or q.hf.checkpoint):
        raise ConfigError("qc.difficulty.model is hf: name the target checkpoint in qc.difficulty.checkpoint")
    bad_skills = [s for s in config.generate.skills if s not in SKILL_NAMES]
    if bad_skills:
        raise ConfigError(f"generate.skills: unknown skill(s) {bad_skills}; expected {', '.join(SKILL_NAMES)}")
    return config
