"""`videokr recipes ls|cp`: the shipped recipes listed with their purpose, and editable copies of them."""

from pathlib import Path

import pytest
import yaml

from videokr.cli import main
from videokr.config import load_recipe
from videokr.recipes import RECIPES_DIR, list_recipes


def test_ls_lists_every_shipped_recipe_with_its_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipes", "ls"]) == 0
    out = capsys.readouterr().out
    for name, path in list_recipes().items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert path.read_text().splitlines()[0].lstrip("# ").split()[0] in line
    assert set(list_recipes()) >= {"demo", "qwen2_5vl", "qwen3vl"}


def test_cp_writes_an_editable_copy_that_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
