"""Launch plans: an engine command computed without side effects, then run with a replayable record and a log.

A planner (`plan_sft`, `plan_eval`, ...) returns a `LaunchPlan`; `format_plan` shows it (`--dry-run`);
`run_plan` writes its files and `command.sh` into the stage directory, runs it, streams the engine's output to the
terminal and to `engine.log`, and returns the exit code.
"""

import datetime as _dt
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from videokr.errors import EngineError
from videokr.io import write_text

logger = logging.getLogger(__name__)

Device = Literal["cpu", "gpu"]

# Environment variables whose values never reach command.sh or a dry-run print: a name part (between
# underscores) ending in KEY, TOKEN, SECRET or PASSWORD (HF_TOKEN, OPENAI_API_KEY, APIKEY), but not
# TOKENIZERS_PARALLELISM, which merely contains TOKEN.
SECRET_RE = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD)S?(_|$)", re.IGNORECASE)


@dataclass(frozen=True)
class LaunchPlan:
    """One engine launch: argv, the environment it adds, its working directory, and the files it needs."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # path -> text content, written before the launch
    name: str = "engine"


def is_secret(name: str) -> bool:
    """Whether the environment variable `name` holds a secret (its value is never written or printed).

    >>> [is_secret(n) for n in ("OPENAI_API_KEY", "HF_TOKEN", "DB_PASSWORD", "GH_TOKEN_X", "MASTER_PORT")]
    [True, True, True, True, False]
    >>> is_secret("TOKENIZERS_PARALLELISM"), is_secret("KEYBOARD"), is_secret("APIKEY")
    (False, False, True)
    """
    return bool(SECRET_RE.search(name))


def render_command_sh(plan: LaunchPlan) -> str:
    """A bash script that replays `plan` by hand; secrets are read from the caller's environment instead."""
    lines = [
        "#!/usr/bin/env bash",
        f"# {plan.name}: written by videokr; replayable without videokr",
        "set -euo pipefail",
    ]
    if plan.cwd:
        lines.append(f"cd {shlex.quote(plan.cwd)}")
    for key, value in sorted(plan.env.items()):
        if is_secret(key):
            lines.append(f'export {key}="${{{key}:?set {key} in the environment (redacted by videokr)}}"')
        else:
            lines.append(f"export {key}={shlex.quote(value)}")
    lines.append("exec " + shlex.join(plan.argv))
    return "\n".join(lines) + "\n"


def format_plan(plan: LaunchPlan) -> str:
    """Human-readable text of `plan` for --dry-run: command, environment (secrets redacted), files in full."""
    out = [f"# {plan.name}", "command:", "  " + shlex.join(plan.argv)]
    if plan.cwd:
        out.append(f"cwd: {plan.cwd}")
    if plan.env:
        out.append("environment:")
        out += [f"  {k}={'<redacted>' if is_secret(k) else v}" for k, v in sorted(plan.env.items())]
    for path, content in plan.files.items():
        out.append(f"file {path}:")
        out += ["  " + line for line in content.rstrip("\n").splitlines()]
    return "\n".join(out) + "\n"


def write_plan_files(plan: LaunchPlan, stage_dir: str | os.PathLike[str]) -> Path:
    """Write the plan's files and `command.sh` (executable) into `stage_dir`; returns the script's path."""
    stage = Path(stage_dir)
    stage.mkdir(parents=True, exist_ok=True)
    for path, content in plan.files.items():
        target = Path(path) if Path(path).is_absolute() else stage / path
        write_text(target, content)
    script = stage / "command.sh"
    write_text(script, render_command_sh(plan))
    script.chmod(0o755)
    return script


def run_plan(
    plan: LaunchPlan, stage_dir: str | os.PathLike[str], dry_run: bool = False, echo: BinaryIO | None = None
) -> int:
    """Write the plan's files and command.sh, run it (unless `dry_run`), tee its output to engine.log; exit code."""
    stage = Path(stage_dir)
    write_plan_files(plan, stage)
    if dry_run:
        return 0
    sink = echo if echo is not None else sys.stdout.buffer
    env = {**os.environ, **plan.env}
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    logger.info("launching %s (log: %s)", plan.name, stage / "engine.log")
    with open(stage / "engine.log", "ab") as log:
        log.write(f"=== videokr {plan.name} launch {stamp}: {shlex.join(plan.argv)}\n".encode())
        try:
            proc = subprocess.Popen(
                list(plan.argv), env=env, cwd=plan.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise EngineError(
                f"cannot start {plan.argv[0]}: {exc.strerror or exc} (is its environment built?)"
            ) from exc
        try:
            _tee(proc, log, sink)
            code = proc.wait()
        finally:
            _stop(proc)
        log.write(f"=== videokr {plan.name} exit code {code}\n".encode())
    return code


def _tee(proc: "subprocess.Popen[bytes]", log: BinaryIO, sink: BinaryIO) -> None:
    # Chunks, not lines: progress bars redraw with \r and must reach the terminal as they come.
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 65536):
        log.write(chunk)
        log.flush()
        sink.write(chunk)
        sink.flush()


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def venv_executable(python: str, name: str) -> str:
    """The console script `name` beside the interpreter `python` (its venv's bin/); no filesystem check.

    >>> venv_executable("/envs/sft/bin/python", "llamafactory-cli")
    '/envs/sft/bin/llamafactory-cli'
    """
    parent = Path(python).parent  # no resolve(): a venv's python is a symlink out of the venv
    if str(parent) in ("", "."):
        return shutil.which(name) or name
    return str(parent / name)


def count_gpus(environ: Mapping[str, str] | None = None) -> int:
    """Visible CUDA GPUs, without importing torch: CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`."""
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip()]
        return 0 if not ids or ids[0].strip() == "-1" else len(ids)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def resolve_device(device: str, gpus: int | None = None, strict: bool = True) -> Device:
    """`auto` -> gpu when a GPU is visible, else cpu; `cpu` / `gpu` as given.

    `gpu` without a visible GPU is an error when `strict`; a dry run plans a GPU launch from any machine.
    """
    n = count_gpus() if gpus is None else gpus
    if device == "cpu":
        return "cpu"
    if device == "gpu":
        if n == 0 and strict:
            raise EngineError("device=gpu but no CUDA GPU is visible (set device=cpu or device=auto)")
        return "gpu"
    if device != "auto":
        raise EngineError(f"unknown device {device!r}: use auto, cpu or gpu")
    return "gpu" if n > 0 else "cpu"
