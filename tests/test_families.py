"""Telling a checkpoint's model family."""

import json
from pathlib import Path

import pytest

from videokr.errors import ConfigError
from videokr.families import detect_family


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [
        pytest.param("qwen2_5_vl", "qwen2_5_vl", id="qwen2.5-vl"),
        pytest.param("qwen2_vl", "qwen2_5_vl", id="qwen2-vl"),
        pytest.param("qwen3_vl", "qwen3_vl", id="qwen3-vl"),
    ],
)
def test_family_comes_from_the_checkpoint_model_type(tmp_path: Path, model_type: str, expected: str) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert detect_family(tmp_path) == expected


def test_a_hub_id_is_guessed_only_when_asked() -> None:
    assert detect_family("Qwen/Qwen3-VL-8B-Instruct", guess_from_name=True) == "qwen3_vl"
    with pytest.raises(ConfigError, match=r"no config\.json"):
        detect_family("Qwen/Qwen3-VL-8B-Instruct")


def test_missing_foreign_and_broken_configs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no config\.json"):
        detect_family(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ConfigError, match="unsupported model_type 'llama'"):
        detect_family(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        detect_family(tmp_path)
    with pytest.raises(ConfigError, match="cannot tell"):
        detect_family("some/llava", guess_from_name=True)
