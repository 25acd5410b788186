"""Recipes given by name: the shipped YAML files, found from the installed package (CLI: tests/cli/test_recipes.py)."""

import pytest

from videokr.config import load_recipe
from videokr.errors import ConfigError
from videokr.recipes import copy_recipe, resolve_recipe


def test_a_recipe_name_and_its_file_load_the_same(tmp_path):
    copied = copy_recipe("qwen2_5vl", tmp_path)
    assert load_recipe("qwen2_5vl", ["grpo.lr=3e-6"]) == load_recipe(copied, ["grpo.lr=3e-6"])


@pytest.mark.parametrize("source", ["nope", "qwen2_5vl.yaml", "configs/recipes/qwen2_5vl.yaml"])
def test_unknown_recipe_names_every_choice(source):
    with pytest.raises(ConfigError, match="demo, qwen2_5vl, qwen3vl"):
        resolve_recipe(source)
