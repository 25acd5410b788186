"""engines.lmms_eval: golden GPU (videokr_vllm) and CPU plans, per-run task yaml, resume by answered rows."""

import json
from pathlib import Path

import pytest
import yaml

from videokr.config import EvalConfig, load_config
from videokr.engines.lmms_eval import (
    ANSWERS_FILE,
    ROW_ID_FIELD,
    evaluate,
    harvest_samples,
    plan_lmms_eval,
    read_eval_rows,
    render_videokr_task,
)
from videokr.errors import ConfigError, DataError
from videokr.families import detect_family
from videokr.tasks import GENERAL_DIR


def _rows(path: Path, n: int) -> Path:
    rows = [
        {
            "problem_id": f"r{i}",
            "problem_type": "multiple choice",
            "question": f"Q{i}?",
            "options": ["A. x", "B. y"],
            "solution": "A",
            "video_path": f"v{i}.mp4",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_plan_gpu_videokr_vllm_golden(family: str) -> None:
    cfg = load_config(EvalConfig, None, ["tensor_parallel_size=2"])
    plan = plan_lmms_eval(
        cfg,
        model="/ckpt/m",
        tasks=["videokr_eval"],
        include_paths=["/run/eval/chunks/0000/tasks"],
        output_path="/run/eval/chunks/0000/lmms_eval",
        family=family,
        device="gpu",
        python="/envs/eval/bin/python",
    )
    assert plan.argv == (
        "/envs/eval/bin/python", "-m", "lmms_eval", "--model", "videokr_vllm",
        "--model_args",
        "model=/ckpt/m,tensor_parallel_size=2,data_parallel_size=1,gpu_memory_utilization=0.85,max_frame_num=128,"
        "fps=2,max_pixels=200704,max_model_len=32768,max_new_tokens=8192",
        "--tasks", "videokr_eval", "--include_path", "/run/eval/chunks/0000/tasks",
        "--batch_size", "1", "--output_path", "/run/eval/chunks/0000/lmms_eval", "--log_samples", "--seed", "42",
    )  # fmt: skip
    assert "CUDA_VISIBLE_DEVICES" not in plan.env and plan.env["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_plan_cpu_uses_hf_model_on_cpu(family: str) -> None:
    cfg = load_config(EvalConfig, None, ["model_args.max_num_frames=4", "passthrough.verbosity=DEBUG"])
    plan = plan_lmms_eval(
        cfg, model="/m", tasks=["videokr_eval"], include_paths=["/t"], output_path="/o", family=family,
        device="cpu", python="/p/bin/python", limit=3,
    )  # fmt: skip
    argv = list(plan.argv)
    assert argv[argv.index("--model") + 1] == family
    margs = dict(kv.split("=", 1) for kv in argv[argv.index("--model_args") + 1].split(","))
    assert margs == {
        "pretrained": "/m", "max_num_frames": "4", "fps": "2", "max_pixels": "200704", "min_pixels": "200704",
        "attn_implementation": "sdpa", "device": "cpu", "device_map": "cpu",
    }  # fmt: skip
    assert argv[argv.index("--limit") + 1] == "3" and argv[-2:] == ["--verbosity", "DEBUG"]
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "" and plan.env["FORCE_QWENVL_VIDEO_READER"] == "decord"


def test_plan_cpu_keeps_min_pixels_at_most_max_pixels() -> None:
    cfg = load_config(EvalConfig, None, ["generation.max_pixels=4096"])
    plan = plan_lmms_eval(
        cfg, model="/m", tasks=["videokr_eval"], include_paths=["/t"], output_path="/o", family="qwen3_vl",
        device="cpu", python="/p/bin/python",
    )  # fmt: skip
    argv = list(plan.argv)
    margs = dict(kv.split("=", 1) for kv in argv[argv.index("--model_args") + 1].split(","))
    assert margs["min_pixels"] == margs["max_pixels"] == "4096"


def test_plan_backend_override() -> None:
    cfg = load_config(EvalConfig, None, ["backend=vllm_generate"])
    plan = plan_lmms_eval(cfg, model="/m", tasks=["x"], include_paths=[], output_path="/o", family="qwen3_vl",
                          device="gpu")  # fmt: skip
    assert plan.argv[plan.argv.index("--model") + 1] == "vllm_generate"
    assert "is_qwen3_vl=True" in plan.argv[plan.argv.index("--model_args") + 1]


@pytest.mark.parametrize(
    ("model_type", "name", "expected"),
    [
        pytest.param("qwen3_vl", "ckpt", "qwen3_vl", id="config-qwen3"),
        pytest.param("qwen2_5_vl", "ckpt", "qwen2_5_vl", id="config-qwen2.5"),
        pytest.param(None, "Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", id="hub-name-qwen3"),
        pytest.param(None, "minuzero/VideoKR-Qwen2.5-VL-7B", "qwen2_5_vl", id="hub-name-qwen2.5"),
    ],
)
def test_detect_family(tmp_path: Path, model_type: str | None, name: str, expected: str) -> None:
    model = name
    if model_type:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"model_type": model_type}))
        model = str(tmp_path / name)
    assert detect_family(model, guess_from_name=True) == expected


def test_detect_family_unknown_raises() -> None:
    with pytest.raises(ConfigError, match="cannot tell the model family"):
        detect_family("some/llava", guess_from_name=True)


def test_render_videokr_task_fills_run_values() -> None:
    cfg = load_config(EvalConfig, None, ["generation.max_new_tokens=32", "prompt_style=unified"])
    text = render_videokr_task(cfg, "/run/data.jsonl", "/videos")
    assert "!function 'videokr.tasks.videokr_eval.utils.videokr_doc_to_text'" in text

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: ("fn", loader.construct_scalar(node)))
    task = yaml.load(text, Loader=Loader)
    assert task["task"] == "videokr_eval" and task["dataset_path"] == "json"
    assert task["dataset_kwargs"] == {"data_files": {"test": "/run/data.jsonl"}}
    assert task["lmms_eval_specific_kwargs"]["default"]["video_root"] == "/videos"
    assert task["lmms_eval_specific_kwargs"]["default"]["prompt_style"] == "unified"
    assert task["generation_kwargs"] == {"max_new_tokens": 32, "temperature": 0.1, "top_p": 0.001, "do_sample": True}


def test_read_eval_rows_ids_limit_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in [{"problem_id": "a"}, {"id": 7}, {"problem_id": "a"}, {"x": 1}, {"id": "z"}])
    )
    assert read_eval_rows(path).ids == ["a", "7", "line-3", "line-4", "z"]
    assert read_eval_rows(path, limit=2).ids == ["a", "7"]
    with pytest.raises(DataError, match="not found"):
        read_eval_rows(tmp_path / "missing.jsonl")


def _cfg(tmp_path: Path, n: int, *extra: str) -> EvalConfig:
    data = _rows(tmp_path / "eval.jsonl", n)
    return load_config(EvalConfig, None, [f"model={tmp_path}/m", "family=qwen2_5_vl", f"data_file={data}", *extra])


def test_evaluate_dry_run_chunks_pending_rows_and_writes_nothing(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    result = evaluate(_cfg(tmp_path, 5), stage_dir=stage, dry_run=True, chunk_size=2, gpus=0)
    assert len(result.plans) == 3 and result.reused == 0
    assert [p.name for p in result.plans] == [f"eval-videokr-chunk-{i:04d}" for i in range(3)]
    assert not stage.exists()


def test_evaluate_resume_skips_answered_rows(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / ANSWERS_FILE).write_text("".join(json.dumps({"id": f"r{i}", "prediction": "A"}) + "\n" for i in (0, 2)))
    result = evaluate(_cfg(tmp_path, 4), stage_dir=stage, dry_run=True, chunk_size=0, gpus=0)
    assert result.reused == 2 and len(result.plans) == 1
    task_yaml = next(iter(result.plans[0].files.values()))
    assert "data.jsonl" in task_yaml
    everything = evaluate(_cfg(tmp_path, 2, "limit=1"), stage_dir=stage, dry_run=True, gpus=0)
    assert everything.plans == [] and everything.reused == 1


def test_evaluate_general_tasks_run_in_one_launch_with_general_include(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, 1, "tasks=[videokr_videomme, videokr_mmvu]")
    result = evaluate(cfg, stage_dir=tmp_path / "s", dry_run=True, gpus=1)
    (plan,) = result.plans
    argv = list(plan.argv)
    assert argv[argv.index("--tasks") + 1] == "videokr_videomme,videokr_mmvu"
    assert argv[argv.index("--include_path") + 1] == str(GENERAL_DIR)
    assert argv[argv.index("--model") + 1] == "videokr_vllm"


def test_evaluate_without_data_or_model_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--model"):
        evaluate(load_config(EvalConfig), dry_run=True, gpus=0)
    with pytest.raises(ConfigError, match="--data"):
        evaluate(load_config(EvalConfig, None, ["model=/m", "family=qwen3_vl"]), dry_run=True, gpus=0)


def test_harvest_samples_appends_new_answers_once(tmp_path: Path) -> None:
    out = tmp_path / "lmms" / "model"
    out.mkdir(parents=True)
    lines = [
        {"doc_id": 0, "videokr_acc": {ROW_ID_FIELD: "r0", "prediction": "<answer>A</answer>"}},
        {"doc_id": 1, "videokr_acc": {ROW_ID_FIELD: "r1", "prediction": "B"}},
        {"doc_id": 2, "videokr_acc": {ROW_ID_FIELD: "other", "prediction": "C"}},
    ]
    (out / "2026_samples_videokr_eval.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert harvest_samples(tmp_path / "lmms", tmp_path, {"r0", "r1"}) == 2
    assert harvest_samples(tmp_path / "lmms", tmp_path, {"r0", "r1"}) == 0
    answers = [json.loads(x) for x in (tmp_path / ANSWERS_FILE).read_text().splitlines()]
    assert answers == [{"id": "r0", "prediction": "<answer>A</answer>"}, {"id": "r1", "prediction": "B"}]


def test_answers_of_another_model_or_settings_are_set_aside(tmp_path: Path) -> None:
    from videokr.engines.lmms_eval import answered, answers_key, drop_stale_answers

    model = tmp_path / "ckpt"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights v1")
    cfg = load_config(EvalConfig, None, [f"model={model}"])
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "answers.jsonl").write_text('{"id": "r1", "prediction": "A"}\n')
    key = answers_key(cfg, "/videos")
    drop_stale_answers(stage, key)
    assert "r1" not in answered(stage), "answers with no key are not trusted"
    (stage / "answers.jsonl").write_text('{"id": "r1", "prediction": "A"}\n')
    drop_stale_answers(stage, answers_key(cfg, "/videos"))
    assert "r1" in answered(stage), "same model and settings: an interrupted eval keeps its answers"
    (model / "model.safetensors").write_bytes(b"weights v2, retrained")
    drop_stale_answers(stage, answers_key(cfg, "/videos"))
    assert answered(stage) == {} and list(stage.glob("answers.stale-*.jsonl"))
    (stage / "answers.jsonl").write_text('{"id": "r2", "prediction": "B"}\n')
    drop_stale_answers(stage, answers_key(cfg, "/blank-videos"))
    assert answered(stage) == {}, "other videos (the blank control) never reuse answers"
