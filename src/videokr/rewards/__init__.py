"""Rewards for GRPO: `compute_score` is the verl custom-reward entry point (PROTOCOL.md section 5).

verl: `reward.custom_reward_function.path=<this package's score.py>`, `name=compute_score`; options through
`reward.custom_reward_function.reward_kwargs` (see `videokr rewards ls`).
"""

from videokr.rewards.accuracy import accuracy_reward
from videokr.rewards.format import format_reward
from videokr.rewards.registry import REWARDS, RewardOption, RewardSpec, resolve_reward
from videokr.rewards.rouge import rouge_f1, rouge_mean_f1
from videokr.rewards.score import compute_score

__all__ = [
    "REWARDS",
    "RewardOption",
    "RewardSpec",
    "accuracy_reward",
    "compute_score",
    "format_reward",
    "resolve_reward",
    "rouge_f1",
    "rouge_mean_f1",
]
