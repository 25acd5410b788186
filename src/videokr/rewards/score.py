"""`compute_score`, the verl custom-reward entry point: the published VideoKR reward by default."""

import logging
from collections.abc import Mapping
from typing import Any

from videokr.answers import extract_reward_answer
from videokr.rewards.accuracy import accuracy_reward
from videokr.rewards.format import format_reward

logger = logging.getLogger(__name__)

# The published weights (PROTOCOL.md section 5).
ACCURACY_WEIGHT = 0.9
FORMAT_WEIGHT = 0.1


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    mc_normalize: bool = False,
    type_normalize: bool = False,
    accuracy_weight: float | None = None,
    format_weight: float | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """The VideoKR reward of one rollout: `score` = 0.9 x `accuracy` + 0.1 x `format` (published by default).

    verl calls it by keyword and forwards `reward_kwargs` (the options) plus keys of its own, which are ignored.
    The published reward accepted `format_weight` and ignored it; videokr honours the weights when they are given
    (a missing one is 1 minus the other), so a published config that set `format_weight` reproduces the published
    numbers only without it.

    >>> compute_score("videokr", "<think>yellow</think><answer>B</answer>", "<answer>B</answer>",
    ...               {"problem_type": "multiple choice"})
    {'score': 1.0, 'accuracy': 1.0, 'format': 1.0}
    >>> compute_score("videokr", "<answer>(B)</answer>", "<answer>B</answer>", {"problem_type": "multiple choice"})
    {'score': 0.0, 'accuracy': 0.0, 'format': 0.0}
    >>> compute_score("videokr", "B", "B", {"problem_type": "multiple choice"})["score"]  # both extract ""
    0.9
    """
    problem_type = str((extra_info or {}).get("problem_type", ""))
    accuracy = accuracy_reward(
        extract_reward_answer(solution_str),
        extract_reward_answer(ground_truth),
        problem_type,
        mc_normalize=mc_normalize,
        type_normalize=type_normalize,
    )
    fmt = format_reward(solution_str)
    acc_w, fmt_w = resolve_weights(accuracy_weight, format_weight)
    return {"score": acc_w * accuracy + fmt_w * fmt, "accuracy": accuracy, "format": fmt}


def resolve_weights(accuracy_weight: float | None, format_weight: float | None) -> tuple[float, float]:
    """The (accuracy, format) weights: the published 0.9 / 0.1 unless given; a missing one is 1 minus the other.

    >>> resolve_weights(None, None), resolve_weights(None, 0.5), resolve_weights(1.0, 0.0)
    ((0.9, 0.1), (0.5, 0.5), (1.0, 0.0))
    """
    if accuracy_weight is None and format_weight is None:
        return ACCURACY_WEIGHT, FORMAT_WEIGHT
    if accuracy_weight is None:
        accuracy_weight = 1.0 - float(format_weight or 0.0)
    if format_weight is None:
        format_weight = 1.0 - float(accuracy_weight)
    return float(accuracy_weight), float(format_weight)
