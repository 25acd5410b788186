"""Run the doctest examples of every videokr module that has them (found by scanning the sources)."""

import doctest
import importlib
from pathlib import Path

import pytest

import videokr

SRC = Path(videokr.__file__).parent
MODULES = sorted(
    ".".join(("videokr", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
    for path in SRC.rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


def test_the_extraction_and_reward_modules_carry_doctests() -> None:
    assert {"videokr.answers", "videokr.rewards.rouge", "videokr.rewards.format", "videokr.scoring.rule"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0
