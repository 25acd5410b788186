"""The vllm-cpu environment for the tests marked `vllm`, and demo-size tiny checkpoints vLLM's CPU attention takes.

The environment is `.venvs/vllm-cpu` (`make setup-vllm`), or VIDEOKR_VLLM_CPU_PYTHON. Without it the tests
fail under CI (CI or VIDEOKR_REQUIRE_VLLM set): a missing environment must never pass as a skip there.
Elsewhere they are skipped with the command that builds it.
"""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from videokr.engines.envs import vllm_cpu_python
from videokr.engines.vllm_cpu_env import launch_env

REQUIRED = bool(os.environ.get("CI") or os.environ.get("VIDEOKR_REQUIRE_VLLM"))
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def vllm_python() -> str:
    """The vllm-cpu environment's interpreter, after checking that `import vllm` works in it."""
    python = vllm_cpu_python()
    if python is None:
        message = "no vllm-cpu environment (.venvs/vllm-cpu): build it with `make setup-vllm`"
        if REQUIRED:
            pytest.fail(message + " (required under CI / VIDEOKR_REQUIRE_VLLM)", pytrace=False)
        pytest.skip(message)
    from videokr.engines.vllm_cpu_env import check_imports

    problem = check_imports(python)
    if problem:
        pytest.fail(f"{problem}\nfix: make setup-vllm (or videokr env create --profile vllm-cpu)", pytrace=False)
    return python


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`family -> checkpoint` of demo size (head size 32: vLLM's CPU attention rejects `small`'s 16)."""
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            from videokr.tiny import build_tiny_model

            out = tmp_path_factory.mktemp(f"demo-{family}")
            built[family] = build_tiny_model(out, family, "demo", 0)  # type: ignore[arg-type]
        return built[family]

    return get


Probe = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_probe() -> Probe:
    """`(python, *args) -> completed process` of parity_probe.py, with the environment of a vLLM-on-CPU launch."""

    def run(python: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **launch_env(), "FORCE_QWENVL_VIDEO_READER": "decord", "TOKENIZERS_PARALLELISM": "false"}
        argv = [python, str(HERE / "parity_probe.py"), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)

    return run
