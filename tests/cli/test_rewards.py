"""`videokr rewards ls`: the GRPO rewards videokr ships, their entry points and options."""

import pytest

from videokr.cli import main
from videokr.rewards.registry import REWARDS


def test_ls_lists_rewards_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rewards", "ls"]) == 0
    out = capsys.readouterr().out
    for word in ("compute_score", "mc_normalize", "format_weight", "accuracy_weight", "type_normalize"):
        assert word in out


def test_ls_has_a_row_per_registered_reward_with_its_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rewards", "ls"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]}
    assert rows == {spec.name: spec.target for spec in REWARDS.values()}
