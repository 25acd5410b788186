"""Where each recipe stage reads and writes: one rule per path, shared by `videokr run` and the single-stage verbs.

Every path has one rule: the recipe's explicit setting when it has one (`sft.dataset_dir=...`, set by a user or a
published wrapper script), else the place inside the run directory where the stage before it writes. The GRPO
starting model has its own rule (`grpo_model`).
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from videokr.config import RecipeConfig

LOG = logging.getLogger(__name__)


def is_local(path: str) -> bool:
    """Whether a model reference names a local directory rather than a hub id.

    >>> is_local("/ckpt/sft"), is_local("./base"), is_local("Qwen/Qwen2.5-VL-7B-Instruct")
    (True, True, False)
    """
    return path.startswith((".", "/")) or Path(path).exists()


def _explicit(setting: str, default: Path) -> Path:
    return Path(setting).absolute() if setting else default


def sft_data(recipe: RecipeConfig, run_dir: Path) -> Path:
    """LLaMA-Factory's dataset_dir: sft.dataset_dir, else what prepare-sft wrote."""
    return _explicit(recipe.sft.dataset_dir, run_dir / "prepare-sft" / "data")


def sft_checkpoint(recipe: RecipeConfig, run_dir: Path) -> Path:
    """The SFT checkpoint: sft.output_dir, else <run>/sft/checkpoint."""
    return _explicit(recipe.sft.output_dir, run_dir / "sft" / "checkpoint")


def rl_data(recipe: RecipeConfig, run_dir: Path) -> Path:
    """verl's train.parquet / test.parquet folder: grpo.data_dir, else what prepare-rl wrote."""
    return _explicit(recipe.grpo.data_dir, run_dir / "prepare-rl" / "data")


def grpo_checkpoints(recipe: RecipeConfig, run_dir: Path) -> Path:
    """verl's checkpoint folder (global_step_N/actor): grpo.output_dir, else <run>/grpo/checkpoints."""
    return _explicit(recipe.grpo.output_dir, run_dir / "grpo" / "checkpoints")


def merge_source(recipe: RecipeConfig, run_dir: Path) -> Path:
    """What the merge reads: merge.checkpoint_dir (a checkpoint folder or one global_step_N), else GRPO's."""
    return _explicit(recipe.merge.checkpoint_dir, grpo_checkpoints(recipe, run_dir))


def merged_model(recipe: RecipeConfig, run_dir: Path) -> Path:
    """The merged Hugging Face model: merge.target_dir, else <run>/merge/hf."""
    return _explicit(recipe.merge.target_dir, run_dir / "merge" / "hf")


@dataclass(frozen=True)
class ModelChoice:
    """A starting model and why it was chosen."""

    path: str
    reason: str

    def warn(self) -> None:
        """Log a warning when the choice fell back to the base model."""
        if self.reason.startswith("model.path"):
            LOG.warning(
                "GRPO starts from %s (%s; run `videokr train sft` first, or set grpo.model_path)",
                self.path,
                self.reason,
            )


def grpo_model(recipe: RecipeConfig, run_dir: Path, upstream: Collection[str] = ()) -> ModelChoice:
    """GRPO's starting model: grpo.model_path, else this run's SFT checkpoint, else model.path (with a warning).

    The SFT checkpoint counts when it is on disk or when this graph runs the sft stage before GRPO.
    """
    if recipe.grpo.model_path:
        return ModelChoice(recipe.grpo.model_path, "grpo.model_path")
    checkpoint = sft_checkpoint(recipe, run_dir)
    if "sft" in upstream or (checkpoint / "config.json").is_file():
        return ModelChoice(str(checkpoint), "the SFT checkpoint of this run")
    return ModelChoice(recipe.model.path, f"model.path: no SFT checkpoint in {checkpoint}")


def checkpoint_of(recipe: RecipeConfig, run_dir: Path, name: str) -> str:
    """The checkpoint a model name of `eval.models` stands for: base, sft, grpo, or a path."""
    known = {
        "base": recipe.model.path,
        "sft": str(sft_checkpoint(recipe, run_dir)),
        "grpo": str(merged_model(recipe, run_dir)),
    }
    return known.get(name, name)


def eval_runs(recipe: RecipeConfig, run_dir: Path) -> list[tuple[str, str, str]]:
    """(report name, checkpoint, video root) for every evaluation of the eval stage."""
    video_root = recipe.eval.video_root or recipe.data.video_root
    runs = [(name, checkpoint_of(recipe, run_dir, name), video_root) for name in recipe.eval.models]
    if recipe.eval.blank_video_root:
        last = recipe.eval.models[-1]
        runs.append((f"{last}_blank_video", checkpoint_of(recipe, run_dir, last), recipe.eval.blank_video_root))
    return runs
