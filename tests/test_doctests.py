"""Run the doctest examples of the extraction, reward, scoring and report modules."""

import doctest
import importlib

import pytest

MODULES = [
    "videokr.answers",
    "videokr.rewards.rouge",
    "videokr.rewards.format",
    "videokr.rewards.accuracy",
    "videokr.rewards.score",
    "videokr.scoring.cache",
    "videokr.scoring.judge",
    "videokr.scoring.rule",
    "videokr.scoring.aggregate",
    "videokr.report.markdown",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0
