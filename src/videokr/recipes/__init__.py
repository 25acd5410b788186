"""The recipes that ship with videokr: the published settings per model family and the demo.

A recipe argument is a path to a YAML file or the name of a shipped recipe (`videokr recipes ls`); `videokr
recipes cp NAME DEST` copies one out to edit, as torchtune's `tune cp` does.
"""

import os
import shutil
from pathlib import Path

from videokr.errors import ConfigError

RECIPES_DIR = Path(__file__).resolve().parent


def list_recipes() -> dict[str, Path]:
    """Shipped recipe name -> its YAML file, sorted by name."""
    return {path.stem: path for path in sorted(RECIPES_DIR.glob("*.yaml"))}


def describe_recipe(path: Path) -> str:
    """The first comment line of a recipe file: what it is for."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def resolve_recipe(source: str | os.PathLike[str]) -> Path:
    """An existing YAML file as given, else the shipped recipe of that name; ConfigError naming both otherwise.

    >>> resolve_recipe("demo").name
    'demo.yaml'
    """
    path = Path(source)
    if path.is_file():
        return path
    shipped = list_recipes()
    name = path.name.removesuffix(".yaml").removesuffix(".yml")
    if str(source) == name and name in shipped:
        return shipped[name]
    raise ConfigError(
        f"recipe {str(source)!r} is neither a file nor a shipped recipe ({', '.join(shipped)}; see videokr recipes ls)"
    )


def copy_recipe(name: str, dest: str | Path, overwrite: bool = False) -> Path:
    """Copy the shipped recipe `name` to `dest` (a file, or a folder to copy into); the path written."""
    shipped = list_recipes()
    if name not in shipped:
        raise ConfigError(f"no shipped recipe {name!r}: choose one of {', '.join(shipped)}")
    target = Path(dest)
    if target.is_dir() or str(dest).endswith(("/", "\\")):
        target = target / shipped[name].name
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} exists: choose another DEST or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shipped[name], target)
    return target
