"""engines.llamafactory: golden dry-run plans for GPU launches (one node, two nodes) and the CPU rendering."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from videokr.config import SFTConfig, load_config, load_recipe
from videokr.engines.llamafactory import check_sft_inputs, deepspeed_config, plan_sft, train_sft
from videokr.errors import DataError, EngineError
from videokr.recipes import RECIPES_DIR


def _golden_gpu_args(tmp: Path, template: str) -> dict[str, Any]:
    # Written out by hand from PROTOCOL.md section 7 and LLaMA-Factory's key names.
    return {
        "model_name_or_path": "/models/base",
        "trust_remote_code": True,
        "use_fast_tokenizer": False,
        "flash_attn": "fa2",
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full",
        "freeze_vision_tower": True,
        "freeze_multi_modal_projector": True,
        "freeze_language_model": False,
        "dataset": "videokr_train",
        "dataset_dir": str(tmp / "data"),
        "template": template,
        "cutoff_len": 16384,
        "overwrite_cache": True,
        "preprocessing_num_workers": 16,
        "dataloader_num_workers": 4,
        "video_fps": 2.0,
        "video_maxlen": 128,
        "video_max_pixels": 100352,
        "output_dir": str(tmp / "ckpt"),
        "logging_steps": 10,
        "save_steps": 500,
        "save_only_model": False,
        "plot_loss": True,
        "report_to": "none",
        "per_device_train_batch_size": 1,
        "gradient_accumulation_steps": 4,
        "learning_rate": 1e-5,
        "num_train_epochs": 1.0,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.02,
        "weight_decay": 1e-6,
        "bf16": True,
        "fp16": False,
        "ddp_timeout": 180000000,
        "seed": 42,
        "deepspeed": str(tmp / "stage" / "ds_config.json"),
    }


def _cfg(tmp: Path, *overrides: str) -> SFTConfig:
    base = [f"dataset_dir={tmp / 'data'}", f"output_dir={tmp / 'ckpt'}", "model_name_or_path=/models/base"]
    return load_config(SFTConfig, None, [*base, *overrides])


def _files(plan: Any) -> dict[str, str]:
    return {Path(p).name: c for p, c in plan.files.items()}


@pytest.mark.parametrize(
    ("family", "template"),
    [pytest.param("qwen2_5_vl", "qwen2_vl", id="qwen2.5"), pytest.param("qwen3_vl", "qwen3_vl", id="qwen3")],
)
def test_plan_sft_gpu_one_node_eight_gpus_golden(tmp_path: Path, family: str, template: str) -> None:
    plan = plan_sft(_cfg(tmp_path), stage_dir=tmp_path / "stage", family=family, python="/envs/sft/bin/python", gpus=8)
    yaml_path = str(tmp_path / "stage" / "llamafactory_sft.yaml")
    assert plan.argv == ("/envs/sft/bin/llamafactory-cli", "train", yaml_path)
    assert dict(plan.env) == {
        "DISABLE_VERSION_CHECK": "1",
        "FORCE_TORCHRUN": "1",
        "NNODES": "1",
        "NODE_RANK": "0",
        "NPROC_PER_NODE": "8",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29500",
    }
    assert plan.cwd == str(tmp_path / "stage")
    files = _files(plan)
    assert set(files) == {"llamafactory_sft.yaml", "ds_config.json"}
    assert yaml.safe_load(files["llamafactory_sft.yaml"]) == _golden_gpu_args(tmp_path, template)
    ds = json.loads(files["ds_config.json"])
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["bf16"] == {"enabled": "auto"} and ds["train_micro_batch_size_per_gpu"] == "auto"
    assert "offload_param" not in ds["zero_optimization"]


def test_plan_sft_gpu_two_nodes_golden(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        "distributed.nnodes=2",
        "distributed.node_rank=1",
        "distributed.master_addr=10.0.0.5",
        "distributed.master_port=29600",
        "distributed.nproc_per_node=8",
    )
    plan = plan_sft(cfg, stage_dir=tmp_path / "stage", family="qwen3_vl", python="/envs/sft/bin/python", gpus=8)
    assert {k: plan.env[k] for k in ("FORCE_TORCHRUN", "NNODES", "NODE_RANK", "NPROC_PER_NODE")} == {
        "FORCE_TORCHRUN": "1",
        "NNODES": "2",
        "NODE_RANK": "1",
        "NPROC_PER_NODE": "8",
    }
    assert (plan.env["MASTER_ADDR"], plan.env["MASTER_PORT"]) == ("10.0.0.5", "29600")
    assert yaml.safe_load(_files(plan)["llamafactory_sft.yaml"]) == _golden_gpu_args(tmp_path, "qwen3_vl")


def test_plan_sft_cpu_drops_gpu_only_settings(tmp_path: Path) -> None:
    plan = plan_sft(_cfg(tmp_path, "max_steps=2"), stage_dir=tmp_path / "stage", python="/v/bin/python", gpus=0)
    args = yaml.safe_load(_files(plan)["llamafactory_sft.yaml"])
    assert (args["bf16"], args["fp16"], args["flash_attn"], args["report_to"]) == (False, False, "sdpa", "none")
    assert "deepspeed" not in args and "preprocessing_num_workers" not in args
    assert args["use_cpu"] is True and args["max_steps"] == 2 and args["dataloader_num_workers"] == 0
    assert "ds_config.json" not in _files(plan)
    assert "FORCE_TORCHRUN" not in plan.env and plan.env["CUDA_VISIBLE_DEVICES"] == ""


def test_plan_sft_passthrough_wins_and_deepspeed_variants(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "passthrough.save_total_limit=2", "passthrough.learning_rate=3e-6", "deepspeed=zero3_offload")
    plan = plan_sft(cfg, stage_dir=tmp_path / "s", python="/v/bin/python", gpus=2)
    args = yaml.safe_load(_files(plan)["llamafactory_sft.yaml"])
    assert (args["save_total_limit"], args["learning_rate"]) == (2, 3e-6)
    assert json.loads(_files(plan)["ds_config.json"])["zero_optimization"]["offload_param"]["device"] == "cpu"
    assert deepspeed_config("zero2")["zero_optimization"]["stage"] == 2
    none_plan = plan_sft(_cfg(tmp_path, "deepspeed=none"), stage_dir=tmp_path / "s", python="/v/bin/python", gpus=2)
    assert "deepspeed" not in yaml.safe_load(_files(none_plan)["llamafactory_sft.yaml"])


def test_plan_sft_without_model_raises(tmp_path: Path) -> None:
    cfg = load_config(SFTConfig, None, [f"dataset_dir={tmp_path}"])
    with pytest.raises(EngineError, match="no model"):
        plan_sft(cfg, stage_dir=tmp_path, gpus=0)


def test_plan_sft_from_recipe_uses_model_section(tmp_path: Path) -> None:
    recipe = load_recipe(RECIPES_DIR / "qwen3vl.yaml")
    plan = plan_sft(recipe.sft, stage_dir=tmp_path, model_path=recipe.model.path, family=recipe.model.family, gpus=8)
    args = yaml.safe_load(_files(plan)["llamafactory_sft.yaml"])
    assert (args["model_name_or_path"], args["template"]) == ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl")


@pytest.mark.parametrize(
    ("info", "message"),
    [
        pytest.param(None, "run `videokr data prepare-sft`", id="missing"),
        pytest.param("{not json", "invalid JSON", id="bad-json"),
        pytest.param('{"other": {}}', "has no dataset 'videokr_train'", id="wrong-name"),
    ],
)
def test_check_sft_inputs_rejects_bad_dataset_dir(tmp_path: Path, info: str | None, message: str) -> None:
    (tmp_path / "data").mkdir()
    if info is not None:
        (tmp_path / "data" / "dataset_info.json").write_text(info)
    with pytest.raises(DataError, match=message):
        check_sft_inputs(_cfg(tmp_path))


def test_train_sft_dry_run_writes_nothing(tmp_path: Path) -> None:
    plan, code = train_sft(_cfg(tmp_path), stage_dir=tmp_path / "stage", dry_run=True)
    assert code == 0 and plan.argv[1] == "train"
    assert not (tmp_path / "stage").exists()


def test_train_sft_dry_run_plans_gpu_launch_without_gpu(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "device=gpu")
    plan, _ = train_sft(cfg, stage_dir=tmp_path / "stage", dry_run=True)
    assert plan.env["FORCE_TORCHRUN"] == "1" and "ds_config.json" in _files(plan)
    if plan.env["NPROC_PER_NODE"] != "auto":  # a GPU machine: the visible count
        assert int(plan.env["NPROC_PER_NODE"]) > 0


def test_plan_sft_cpu_two_processes_use_the_gpu_torchrun_launch_with_gloo(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "distributed.nproc_per_node=2", "distributed.master_port=29611")
    plan = plan_sft(cfg, stage_dir=tmp_path / "stage", python="/v/bin/python", gpus=0)
    assert {k: plan.env[k] for k in ("FORCE_TORCHRUN", "NNODES", "NODE_RANK", "NPROC_PER_NODE", "MASTER_PORT")} == {
        "FORCE_TORCHRUN": "1",
        "NNODES": "1",
        "NODE_RANK": "0",
        "NPROC_PER_NODE": "2",
        "MASTER_PORT": "29611",
    }
    args = yaml.safe_load(_files(plan)["llamafactory_sft.yaml"])
    assert args["use_cpu"] is True and args["ddp_backend"] == "gloo" and "deepspeed" not in args
    one = plan_sft(_cfg(tmp_path), stage_dir=tmp_path / "stage", python="/v/bin/python", gpus=0)
    assert "ddp_backend" not in yaml.safe_load(_files(one)["llamafactory_sft.yaml"])
