"""`videokr recipes ls|cp` and recipes given by name: the shipped YAML files, found from the installed package."""

import pytest
import yaml

from videokr.cli import main
from videokr.config import load_recipe
from videokr.errors import ConfigError
from videokr.recipes import RECIPES_DIR, copy_recipe, list_recipes, resolve_recipe


def test_ls_lists_every_shipped_recipe_with_its_purpose(capsys):
    assert main(["recipes", "ls"]) == 0
    out = capsys.readouterr().out
    for name, path in list_recipes().items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert path.read_text().splitlines()[0].lstrip("# ").split()[0] in line
    assert set(list_recipes()) >= {"demo", "qwen2_5vl", "qwen3vl"}


def test_cp_writes_an_editable_copy_that_runs(tmp_path, capsys):
    dest = tmp_path / "mine.yaml"
    assert main(["recipes", "cp", "qwen3vl", str(dest)]) == 0
    assert dest.read_bytes() == (RECIPES_DIR / "qwen3vl.yaml").read_bytes()
    edited = yaml.safe_load(dest.read_text())
    edited["name"] = "mine"
    dest.write_text(yaml.safe_dump(edited))
    assert load_recipe(str(dest)).name == "mine"
    assert main(["recipes", "cp", "qwen3vl", str(dest)]) == 1  # never overwrites without asking
    assert "exists" in capsys.readouterr().err
    assert main(["recipes", "cp", "demo", f"{tmp_path}/sub/"]) == 0
    assert (tmp_path / "sub" / "demo.yaml").is_file()


def test_a_recipe_name_and_its_file_load_the_same(tmp_path):
    copied = copy_recipe("qwen2_5vl", tmp_path)
    assert load_recipe("qwen2_5vl", ["grpo.lr=3e-6"]) == load_recipe(copied, ["grpo.lr=3e-6"])


@pytest.mark.parametrize("source", ["nope", "qwen2_5vl.yaml", "configs/recipes/qwen2_5vl.yaml"])
def test_unknown_recipe_names_every_choice(source):
    with pytest.raises(ConfigError, match="demo, qwen2_5vl, qwen3vl"):
        resolve_recipe(source)


def test_run_accepts_a_shipped_recipe_by_name(tmp_path, capsys):
    assert main(["run", "qwen2_5vl", f"output_dir={tmp_path}/run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "== grpo" in out and "Qwen/Qwen2.5-VL-7B-Instruct" in out
