"""videokr.config: YAML + dotted overrides into frozen dataclasses, strict keys and types, passthrough verbatim."""

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from videokr.config import (
    EvalConfig,
    GRPOConfig,
    MergeConfig,
    RecipeConfig,
    SFTConfig,
    apply_overrides,
    load_config,
    load_recipe,
    parse_override,
    to_dict,
    to_yaml,
)
from videokr.errors import ConfigError
from videokr.recipes import RECIPES_DIR


@dataclass(frozen=True)
class Inner:
    depth: int = 1
    ratio: float = 0.5


@dataclass(frozen=True)
class Toy:
    name: str = "toy"
    flag: bool = False
    count: int = 3
    rate: float = 1e-5
    mode: Literal["a", "b"] = "a"
    limit: int | None = None
    tags: tuple[str, ...] = ()
    inner: Inner = field(default_factory=Inner)
    passthrough: dict[str, Any] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(["count=7"], {"count": 7}, id="int"),
        pytest.param(["rate=2e-5"], {"rate": 2e-5}, id="float-yaml11-string-form"),
        pytest.param(["rate=3"], {"rate": 3.0}, id="int-into-float"),
        pytest.param(["flag=true"], {"flag": True}, id="bool"),
        pytest.param(["mode=b"], {"mode": "b"}, id="literal"),
        pytest.param(["limit=5"], {"limit": 5}, id="optional-set"),
        pytest.param(["limit=null"], {"limit": None}, id="optional-null"),
        pytest.param(["limit="], {"limit": None}, id="optional-empty"),
        pytest.param(["tags=[x, y]"], {"tags": ("x", "y")}, id="list-to-tuple"),
        pytest.param(["inner.depth=4"], {"inner": Inner(depth=4)}, id="nested"),
        pytest.param(["name=a=b"], {"name": "a=b"}, id="value-with-equals"),
        pytest.param(["count=1", "count=2"], {"count": 2}, id="last-wins"),
    ],
)
def test_load_config_override_sets_typed_value(overrides: list[str], expected: dict[str, Any]) -> None:
    cfg = load_config(Toy, None, overrides)
    for key, value in expected.items():
        assert getattr(cfg, key) == value
        assert type(getattr(cfg, key)) is type(value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(["cuont=1"], "unknown key 'cuont'; did you mean 'count'?", id="top-typo"),
        pytest.param(["inner.dpeth=1"], "unknown key 'inner.dpeth'; did you mean 'inner.depth'?", id="nested-typo"),
        pytest.param(["zzzzzz=1"], "valid keys here:", id="nothing-close"),
        pytest.param(["count=1.5"], "count must be int, got float", id="float-into-int"),
        pytest.param(["count=true"], "count must be int, got bool", id="bool-into-int"),
        pytest.param(["flag=1"], "flag must be bool, got int", id="int-into-bool"),
        pytest.param(["name=12"], "quote it", id="int-into-str"),
        pytest.param(["rate=fast"], "rate must be float", id="word-into-float"),
        pytest.param(["mode=c"], "mode must be one of 'a', 'b'", id="literal-miss"),
        pytest.param(["tags=x"], "tags must be a list", id="scalar-into-list"),
        pytest.param(["inner=3"], "inner must be a mapping", id="scalar-into-nested"),
        pytest.param(["count.x=1"], "count is a int, not a mapping", id="override-through-scalar"),
        pytest.param(["count"], "expected KEY=VALUE", id="no-equals"),
        pytest.param(["a..b=1"], "expected KEY=VALUE", id="empty-key-part"),
    ],
)
def test_load_config_bad_override_raises_config_error(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Toy, {"count": 3}, overrides)
    assert message in str(info.value)


def test_load_config_passthrough_numbers_stay_numbers() -> None:
    cfg = load_config(Toy, None, ["passthrough.learning_rate=3e-6", "passthrough.steps=10"])
    assert cfg.passthrough == {"learning_rate": 3e-6, "steps": 10}


def test_load_config_passthrough_copied_verbatim_and_isolated() -> None:
    raw = {"passthrough": {"deepspeed": {"zero": [1, 2]}, "weird_key": None}}
    cfg = load_config(Toy, raw, ["passthrough.extra.k=v"])
    assert cfg.passthrough == {"deepspeed": {"zero": [1, 2]}, "weird_key": None, "extra": {"k": "v"}}
    raw["passthrough"]["deepspeed"]["zero"].append(3)
    assert cfg.passthrough["deepspeed"]["zero"] == [1, 2]


def test_load_config_from_yaml_file_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "toy.yaml"
    path.write_text("count: 9\ninner:\n  ratio: 0.25\n")
    cfg = load_config(Toy, path)
    assert (cfg.count, cfg.inner.ratio) == (9, 0.25)
    path.write_text("count: 9\ncoutn: 1\n")
    with pytest.raises(ConfigError, match=r"toy\.yaml.*unknown key 'coutn'"):
        load_config(Toy, path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("- 1\n- 2\n", "top level must be a mapping", id="list-top"),
        pytest.param("a: [\n", "invalid YAML", id="bad-yaml"),
    ],
)
def test_load_config_bad_file_raises(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(Toy, path)


def test_load_config_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(Toy, tmp_path / "nope.yaml")


def test_load_config_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(Toy, path) == Toy()


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_config(Toy).count = 2  # type: ignore[misc]


def test_parse_override_parses_yaml_values() -> None:
    assert parse_override("a.b={x: 1}") == (["a", "b"], {"x": 1})
    assert parse_override("a='007'") == (["a"], "007")


def test_apply_overrides_does_not_mutate_input() -> None:
    raw = {"a": {"b": 1}}
    assert apply_overrides(raw, ["a.b=2", "a.c.d=3"]) == {"a": {"b": 2, "c": {"d": 3}}}
    assert raw == {"a": {"b": 1}}


def test_to_dict_round_trips_through_yaml() -> None:
    cfg = load_config(Toy, None, ["tags=[p]", "inner.depth=2", "passthrough.k=[1]"])
    again = load_config(Toy, yaml.safe_load(to_yaml(cfg)))
    assert again == cfg
    assert to_dict(cfg)["tags"] == ["p"]


def test_recipe_defaults_follow_published_settings() -> None:
    recipe = load_recipe(None)
    assert isinstance(recipe.sft, SFTConfig) and isinstance(recipe.eval, EvalConfig)
    sft = recipe.sft
    assert (sft.learning_rate, sft.lr_scheduler_type, sft.warmup_ratio, sft.weight_decay) == (
        1e-5,
        "cosine",
        0.02,
        1e-6,
    )
    assert (sft.per_device_train_batch_size, sft.gradient_accumulation_steps, sft.cutoff_len) == (1, 4, 16384)
    assert (sft.video_fps, sft.video_maxlen, sft.video_max_pixels) == (2.0, 128, 100352)
    assert sft.freeze_vision_tower and sft.freeze_multi_modal_projector and not sft.use_fast_tokenizer
    gen = recipe.eval.generation
    assert (gen.max_new_tokens, gen.temperature, gen.top_p, gen.do_sample) == (8192, 0.1, 0.001, True)
    assert (gen.fps, gen.max_frames, gen.max_pixels, gen.max_model_len) == (2.0, 128, 200704, 32768)


def test_every_recipe_section_is_typed_and_checked() -> None:
    recipe = load_recipe({"merge": {}}, ["merge.step=7", "grpo.lr=3e-6"])
    assert isinstance(recipe.grpo, GRPOConfig) and isinstance(recipe.merge, MergeConfig)
    assert (recipe.merge.step, recipe.grpo.lr) == (7, 3e-6)
    with pytest.raises(ConfigError, match=r"did you mean 'merge\.step'"):
        load_recipe(None, ["merge.stp=x"])
    hints = typing.get_type_hints(RecipeConfig)
    assert Any not in hints.values()


@pytest.mark.parametrize("name", ["qwen2_5vl", "qwen3vl"])
def test_shipped_recipes_load(name: str) -> None:
    recipe = load_recipe(RECIPES_DIR / f"{name}.yaml")
    assert isinstance(recipe, RecipeConfig)
    assert recipe.model.family == {"qwen2_5vl": "qwen2_5_vl", "qwen3vl": "qwen3_vl"}[name]
    assert recipe.sft.learning_rate == 1e-5 and recipe.sft.deepspeed == "zero3"
