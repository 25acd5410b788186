"""The published entry points in scripts/ are thin wrappers: their dry runs reach the right videokr command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def run_script(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a wrapper with DRY_RUN=1 and this interpreter's videokr."""
    full_env = {**os.environ, "DRY_RUN": "1", "VIDEOKR_BIN": str(Path(sys.executable).parent / "videokr"), **env}
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    ("family", "template", "default_model"),
    [
        pytest.param("qwen2_5vl", "qwen2_vl", "Qwen/Qwen2.5-VL-7B-Instruct", id="qwen2_5vl"),
        pytest.param("qwen3vl", "qwen3_vl", "Qwen/Qwen3-VL-8B-Instruct", id="qwen3vl"),
    ],
)
def test_train_videokr_sh_renders_the_llamafactory_launch(
    family: str, template: str, default_model: str, tmp_path: Path
) -> None:
    result = run_script(["bash", str(SCRIPTS / "train_videokr.sh"), family], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "llamafactory-cli train" in out
    assert f"template: {template}" in out and f"model_name_or_path: {default_model}" in out
    assert f"dataset_dir: {tmp_path / 'data'}" in out
    assert f"output_dir: {tmp_path / 'saves' / 'videokr' / (family + '_sft')}" in out
    assert not (tmp_path / "saves").exists(), "a dry run must not write anything"


def test_train_videokr_sh_honours_the_published_environment(tmp_path: Path) -> None:
    env = {"MODEL_NAME_OR_PATH": "/models/base", "OUTPUT_DIR": str(tmp_path / "out"), "DATASET_DIR": "/ds"}
    result = run_script(
        ["bash", str(SCRIPTS / "train_videokr.sh"), "qwen3vl", "sft.learning_rate=2e-5"], env, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "model_name_or_path: /models/base" in result.stdout
    assert f"output_dir: {tmp_path / 'out'}" in result.stdout and "dataset_dir: /ds" in result.stdout
    assert "learning_rate: 2.0e-05" in result.stdout


def test_train_videokr_sh_rejects_an_unknown_family(tmp_path: Path) -> None:
    result = run_script(["bash", str(SCRIPTS / "train_videokr.sh"), "llava"], {}, tmp_path)
    assert result.returncode == 2 and "Usage" in result.stderr


def test_train_videokr_grpo_sh_requires_model_path(tmp_path: Path) -> None:
    result = run_script(["bash", str(SCRIPTS / "train_videokr_grpo.sh")], {}, tmp_path)
    assert result.returncode == 1 and "MODEL_PATH is required" in result.stderr


def test_train_videokr_grpo_sh_maps_the_published_variables(tmp_path: Path) -> None:
    env = {"MODEL_PATH": "/ckpt/qwen3-vl-sft", "ROLLOUT_N": "4", "LR": "3e-6", "DATA_DIR": str(tmp_path / "rl")}
    result = run_script(["bash", str(SCRIPTS / "train_videokr_grpo.sh")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "verl.trainer.main_ppo" in out
    assert "actor_rollout_ref.model.path=/ckpt/qwen3-vl-sft" in out
    assert "actor_rollout_ref.rollout.n=4" in out and "actor_rollout_ref.actor.optim.lr=3e-06" in out
    assert f"data.train_files={tmp_path / 'rl' / 'train.parquet'}" in out
    assert "data.image_patch_size=16" in out, "qwen3 in MODEL_PATH selects the Qwen3-VL recipe"
    assert (
        f"trainer.default_local_dir={tmp_path / 'outputs' / 'videokr_grpo' / 'videokr_qwen_vl' / 'checkpoints'}" in out
    )


def test_merge_videokr_checkpoint_sh_merges_the_actor_into_huggingface(tmp_path: Path) -> None:
    actor = tmp_path / "checkpoints" / "global_step_20" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"")
    (actor / "fsdp_config.json").write_text("{}")
    result = run_script(["bash", str(SCRIPTS / "merge_videokr_checkpoint.sh"), str(actor)], {}, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "verl.model_merger merge" in result.stdout
    assert f"--local_dir {actor}" in result.stdout
    assert f"--target_dir {actor / 'huggingface'}" in result.stdout


@pytest.mark.parametrize(
    ("script", "argv", "expected"),
    [
        pytest.param(
            "prepare_videokr_sft_data.py",
            ["--input", "raw/cot.jsonl", "--output", "data/videokr_train.json"],
            "videokr data prepare-sft --input raw/cot.jsonl --output-dir data",
            id="sft",
        ),
        pytest.param(
            "prepare_videokr_rl_data.py",
            ["--data_file", "rl.jsonl", "--video_base_dir", "/v", "--output_dir", "data/videokr_rl"],
            "videokr data prepare-rl --input /v/rl.jsonl --output-dir data/videokr_rl --video-root /v "
            "--val-size 500 --seed 42 --no-length-filter",
            id="rl",
        ),
    ],
)
def test_prepare_scripts_translate_the_published_flags(
    script: str, argv: list[str], expected: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *argv, "--dry-run"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_prepare_sft_script_converts_for_real(tmp_path: Path) -> None:
    rows = tmp_path / "cot.jsonl"
    rows.write_text(
        '{"problem_id": "p1", "problem_type": "multiple choice", "question": "What burns?", '
        '"options": ["A. sodium", "B. argon"], "solution": "A", "think": "Yellow flame.", "video_path": "v/1.mp4"}\n'
    )
    out = tmp_path / "data" / "videokr_train.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "prepare_videokr_sft_data.py"), "--input", str(rows), "--output", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.is_file() and (out.parent / "dataset_info.json").is_file()


def test_videokr_vllm_sh_launches_videokr_vllm_and_never_prints_the_key(tmp_path: Path) -> None:
    model = tmp_path / "ckpt"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen3_vl"}')
    data = tmp_path / "VideoKR_eval.jsonl"
    data.write_text('{"problem_id": "a", "question": "q?", "answer": "x", "video_path": "v.mp4"}\n')
    env = {
        "VIDEOKR_MODEL": str(model),
        "VIDEOKR_EVAL_DATA": str(data),
        "MAX_FRAME_NUM": "64",
        "TENSOR_PARALLEL_SIZE": "2",
        "API_TYPE": "openai",
        "OPENAI_API_KEY": "sk-do-not-print-me",
        "RUN_NAME": "my run",
    }
    result = run_script(["bash", str(SCRIPTS / "videokr_vllm.sh")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "-m lmms_eval --model videokr_vllm" in out
    assert "max_frame_num=64" in out and "tensor_parallel_size=2" in out
    assert str(tmp_path / "outputs" / "videokr" / "my_run_vllm") in out
    assert "sk-do-not-print-me" not in out + result.stderr
    assert not (tmp_path / "outputs").exists()


def test_videokr_vllm_sh_requires_the_model(tmp_path: Path) -> None:
    result = run_script(["bash", str(SCRIPTS / "videokr_vllm.sh")], {"VIDEOKR_MODEL": ""}, tmp_path)
    assert result.returncode != 0 and "VIDEOKR_MODEL" in result.stderr


def test_train_videokr_grpo_sh_with_gpus_plans_the_published_vllm_launch_on_any_machine(tmp_path: Path) -> None:
    env = {"MODEL_PATH": "/ckpt/qwen3-vl-sft", "N_GPUS": "8", "NNODES": "2", "RAY_ADDRESS": "10.0.0.1:6379"}
    result = run_script(["bash", str(SCRIPTS / "train_videokr_grpo.sh")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "actor_rollout_ref.rollout.name=vllm" in out
    assert "trainer.nnodes=2" in out and "trainer.n_gpus_per_node=8" in out
    assert "VERL_PLATFORM=cpu" not in out
    assert "VERL_USE_EXTERNAL_MODULES=videokr.plugins.verl_vllm" in out, "the Qwen3-VL prompt-id fix is loaded"
