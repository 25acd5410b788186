"""`videokr train sft|grpo RECIPE [key=value ...] [--dry-run]`: one stage of the recipe, in its run directory.

`train sft` is full SFT with LLaMA-Factory; `train grpo` is GRPO with verl's main_ppo (vLLM rollouts on GPU, HF
on CPU), starting from grpo.model_path, else this run's SFT checkpoint, else model.path. Both are one-stage runs
of the stages `videokr run` runs (videokr.run.stages): same inputs, same manifest, skipped when unchanged.
"""

import argparse
from typing import Any

from videokr.cli.common import add_noun, add_stage_arguments, run_stage_command


def register(subparsers: Any) -> None:
    """Add `videokr train ...`."""
    verbs = add_noun(subparsers, "train", "train a model: sft (LLaMA-Factory), grpo (verl)")
    sft = verbs.add_parser(
        "sft",
        help="full SFT with LLaMA-Factory from a recipe's model + sft sections",
        description="Render LLaMA-Factory's YAML (and DeepSpeed JSON on GPU) from the recipe and run "
        "`llamafactory-cli train` in the sft environment, in <output_dir>/sft. The dataset is sft.dataset_dir, else "
        "what `videokr data prepare-sft` wrote in the run. Example: videokr train sft qwen2_5vl sft.max_steps=10 "
        "--dry-run",
    )
    add_stage_arguments(sft, "sft.learning_rate=2e-5", env="sft")
    sft.set_defaults(func=_sft)
    grpo = verbs.add_parser(
        "grpo",
        help="GRPO with verl from a recipe's model + grpo sections",
        description="Render verl's Hydra overrides from the recipe and run `python -m verl.trainer.main_ppo` in the "
        "rl environment, in <output_dir>/grpo; without a GPU the same trainer runs with videokr's CPU platform and "
        "HF rollout. The model is grpo.model_path, else the run's SFT checkpoint, else model.path. Re-running "
        "resumes from the last checkpoint. Example: videokr train grpo qwen3vl grpo.total_training_steps=2 --dry-run",
    )
    add_stage_arguments(grpo, "grpo.lr=3e-6", env="rl")
    grpo.set_defaults(func=_grpo)


def _sft(args: argparse.Namespace) -> int:
    result = run_stage_command(args, "sft")
    if result is not None:
        checkpoint = result.outputs["sft"]["checkpoint"]
        print(f"sft finished: checkpoint in {checkpoint}; log and command.sh in {result.run_dir / 'sft'}")
    return 0


def _grpo(args: argparse.Namespace) -> int:
    result = run_stage_command(args, "grpo")
    if result is None:
        return 0
    outputs, stage_dir = result.outputs["grpo"], result.run_dir / "grpo"
    summary = outputs.get("summary", {})
    reward = ""
    if "reward_first" in summary:
        reward = f"; reward {summary['reward_first']:.3f} -> {summary['reward_last']:.3f}"
    print(f"grpo finished at step {outputs['step']}: checkpoints in {outputs['checkpoints']}{reward}")
    print(f"metrics: {outputs['metrics']} ({summary.get('steps', 0)} steps); log: {stage_dir / 'engine.log'}")
    return 0
