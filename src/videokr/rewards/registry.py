"""The rewards videokr ships, named by registry key; each entry is a lazily imported "module:object" string."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videokr.errors import ConfigError


@dataclass(frozen=True)
class RewardOption:
    """One keyword option of a reward (reachable through verl's `reward_kwargs`)."""

    name: str
    default: Any
    help: str


@dataclass(frozen=True)
class RewardSpec:
    """A registered reward: where it lives, what it does and which options it takes."""

    name: str
    target: str
    help: str
    options: tuple[RewardOption, ...] = ()


SCORE_OPTIONS = (
    RewardOption("mc_normalize", False, "compare option letters, so '(B)', 'B.' and 'Option B' match 'B'"),
    RewardOption("type_normalize", False, "map problem_type spellings ('Multiple Choice', 'mcq') onto the two types"),
    RewardOption("accuracy_weight", None, "weight of accuracy; published 0.9 (default 1 - format_weight when set)"),
    RewardOption("format_weight", None, "weight of format; published 0.1 and ignored there, honoured by videokr"),
)

REWARDS: dict[str, RewardSpec] = {
    spec.name: spec
    for spec in (
        RewardSpec(
            "videokr",
            "videokr.rewards.score:compute_score",
            "verl entry point: 0.9 x accuracy + 0.1 x format (the published reward by default)",
            SCORE_OPTIONS,
        ),
        RewardSpec(
            "accuracy",
            "videokr.rewards.accuracy:accuracy_reward",
            "multiple choice: exact match; open-ended: mean ROUGE-1/2/L F1 (Porter stemmer)",
            SCORE_OPTIONS[:2],
        ),
        RewardSpec("format", "videokr.rewards.format:format_reward", "1 when the response is <think>...<answer>..."),
    )
}


def resolve_reward(name: str) -> Callable[..., Any]:
    """The reward function for a registry key or a "module:object" / "module.object" path."""
    target = REWARDS[name].target if name in REWARDS else name
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"unknown reward {name!r}: use one of {sorted(REWARDS)} or a 'module:function' path")
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load reward {name!r} ({target}): {exc}") from exc
    if not callable(function):
        raise ConfigError(f"reward {name!r} ({target}) is not callable")
    return function
