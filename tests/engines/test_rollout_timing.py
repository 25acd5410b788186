"""The rollout video-timing check (issue 19): which launches need videokr's vLLM plugin, get it, or are refused.

vLLM's real processing with and without the plugin is in test_rollout_timing_vllm.py (`make test-gpu-stack`).
"""

import stat
import sys
import tomllib
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.config import load_recipe
from videokr.engines import rollout_timing
from videokr.engines.rollout_timing import FIX_ENV, PLUGIN_NAME, decide, vllm_needs_fix
from videokr.engines.verl import plan_grpo
from videokr.errors import EngineError
from videokr.recipes import RECIPES_DIR

ROOT = Path(__file__).resolve().parents[2]


def fake_python(tmp_path: Path, vllm: str | None, plugin: bool = True) -> str:
    """An executable answering the probe as an rl environment with this vLLM would (an in-memory double)."""
    path = tmp_path / "python"
    version = "null" if vllm is None else f'"{vllm}"'
    path.write_text(f'#!/bin/sh\necho \'{{"vllm": {version}, "plugin": {str(plugin).lower()}}}\'\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("version", "action"),
    [
        pytest.param("0.24.0", "apply", id="verl-0.9.1-pin"),
        pytest.param("0.24.2+cpu", "apply", id="local-version"),
        pytest.param("0.27.1", "refuse", id="untested-release-that-drops"),
        pytest.param("0.20.0", "refuse", id="older-release"),
        pytest.param("0.32.0", "none", id="keeps-metadata-upstream"),
        pytest.param("0.33.0", "none", id="gpu-eval-pin"),
        pytest.param("1.0.0", "none", id="later-major"),
        pytest.param("main", "refuse", id="unparsable"),
    ],
)
def test_vllm_needs_fix_by_release(version, action):
    assert vllm_needs_fix(version) == action


@pytest.mark.parametrize(
    ("family", "rollout", "device", "version", "plugin", "action"),
    [
        pytest.param("qwen2_5_vl", "vllm", "gpu", "0.24.0", True, "apply", id="qwen2.5-vl-vllm-0.24"),
        pytest.param("qwen2_5_vl", "vllm", "gpu", None, None, "apply", id="version-unknown"),
        pytest.param("qwen2_5_vl", "vllm", "gpu", "0.24.0", False, "refuse", id="plugin-not-installed"),
        pytest.param("qwen2_5_vl", "vllm", "gpu", "0.27.1", True, "refuse", id="untested-vllm"),
        pytest.param("qwen2_5_vl", "vllm", "gpu", "0.33.0", True, "none", id="fixed-upstream"),
        pytest.param("qwen3_vl", "vllm", "gpu", "0.24.0", True, "none", id="qwen3-vl-keeps-it"),
        pytest.param("qwen2_5_vl", "sglang", "gpu", "0.24.0", True, "none", id="other-rollout"),
        pytest.param("qwen2_5_vl", "hf", "cpu", None, None, "none", id="cpu-hf-rollout"),
    ],
)
def test_decide_by_family_rollout_and_vllm(family, rollout, device, version, plugin, action):
    check = decide(family, rollout, device, version, plugin)
    assert check.action == action
    if action == "refuse":
        assert "\n" not in check.reason and check.reason


def test_check_reads_the_gpu_rl_lock_when_the_launch_python_is_absent(tmp_path):
    check = rollout_timing.check_rollout_timing("qwen2_5_vl", "vllm", "gpu", str(tmp_path / "none"), environ={})
    assert (check.action, check.vllm_version, check.source) == ("apply", "0.24.0", "videokr/envs/locks/gpu-rl.txt")


def test_check_probes_the_launch_python(tmp_path):
    python = fake_python(tmp_path, "0.27.1")
    check = rollout_timing.check_rollout_timing("qwen2_5_vl", "vllm", "gpu", python, environ={})
    assert (check.action, check.vllm_version, check.source) == ("refuse", "0.27.1", python)


@pytest.mark.parametrize(
    ("allowed", "action"),
    [
        pytest.param(f"other,{PLUGIN_NAME}", "apply", id="listed"),
        pytest.param("other", "refuse", id="left-out"),
    ],
)
def test_a_vllm_plugins_allow_list_must_name_the_plugin(tmp_path, allowed, action):
    python = fake_python(tmp_path, "0.24.0")
    check = rollout_timing.check_rollout_timing("qwen2_5_vl", "vllm", "gpu", python, environ={"VLLM_PLUGINS": allowed})
    assert check.action == action


def grpo_plan(tmp_path: Path, recipe: str, python: str, gpus: int = 8, extra: tuple[str, ...] = ()):
    loaded = load_recipe(RECIPES_DIR / f"{recipe}.yaml", list(extra))
    return plan_grpo(
        loaded.grpo, stage_dir=tmp_path, model_path="/m", family=loaded.model.family, python=python, gpus=gpus
    )


@pytest.mark.parametrize(
    ("recipe", "vllm", "gpus", "env"),
    [
        pytest.param("qwen2_5vl", "0.24.0", 8, "keep", id="qwen2.5-vl-gpu-applies"),
        pytest.param("qwen2_5vl", "0.33.0", 8, None, id="qwen2.5-vl-fixed-vllm"),
        pytest.param("qwen3vl", "0.24.0", 8, None, id="qwen3-vl"),
        pytest.param("qwen2_5vl", "0.27.1", 0, None, id="cpu-launch-never-checked"),
    ],
)
def test_plan_grpo_applies_the_fix_only_where_timing_is_lost(tmp_path, recipe, vllm, gpus, env):
    plan = grpo_plan(tmp_path, recipe, fake_python(tmp_path, vllm), gpus=gpus)
    assert plan.env.get(FIX_ENV) == env


def test_plan_grpo_refuses_a_vllm_that_loses_timing_without_a_tested_fix(tmp_path):
    with pytest.raises(EngineError, match=r"vLLM 0\.27\.1 drops Qwen2\.5-VL video metadata"):
        grpo_plan(tmp_path, "qwen2_5vl", fake_python(tmp_path, "0.27.1"))


def test_plan_grpo_checks_the_rollout_a_passthrough_chooses(tmp_path):
    extra = ("grpo.passthrough={actor_rollout_ref.rollout.name: sglang}",)
    plan = grpo_plan(tmp_path, "qwen2_5vl", fake_python(tmp_path, "0.27.1"), extra=extra)
    assert FIX_ENV not in plan.env


def test_train_grpo_dry_run_refuses_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDEOKR_RL_PYTHON", fake_python(tmp_path, "0.24.0", plugin=False))
    code = main(["train", "grpo", str(RECIPES_DIR / "qwen2_5vl.yaml"), "grpo.device=gpu", "--dry-run"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.count("\n") == 0 and PLUGIN_NAME in err and "reinstall videokr" in err


def test_train_grpo_dry_run_shows_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDEOKR_RL_PYTHON", fake_python(tmp_path, "0.24.0"))
    assert main(["train", "grpo", str(RECIPES_DIR / "qwen2_5vl.yaml"), "grpo.device=gpu", "--dry-run"]) == 0
    assert f"{FIX_ENV}=keep" in capsys.readouterr().out


def test_the_plugin_is_a_vllm_entry_point_of_videokr():
    entry = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["vllm.general_plugins"]
    module, _, function = entry[PLUGIN_NAME].partition(":")
    assert (module, function) == ("videokr.plugins.vllm_plugin", "register")
    __import__(module)
    assert callable(getattr(sys.modules[module], function))
