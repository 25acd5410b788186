"""The graph of stages and the run directory: run, skip unchanged stages, resume after an interruption.

A run lives in `runs/<name>/` (DESIGN.md section 5). `manifest.json` records, per stage, its status, times,
the fingerprint of everything it read (its config keys and its input files) and its outputs. On a re-run a stage
whose fingerprint is unchanged and whose status is `done` is skipped; a stage left `running` (killed) or `failed`
is run again, and engines that can resume (LLaMA-Factory and verl checkpoints, eval rows already answered) pick up
where they stopped. `videokr run` runs the recipe's graph, `videokr demo` the demo's, and every single-stage verb
a graph of one stage: all of them through `run_stages`, on the same manifest.
"""

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from videokr import __version__
from videokr.errors import VideoKRError
from videokr.io import fingerprint_path, write_json
from videokr.run.stage import Stage, StageContext

LOG = logging.getLogger(__name__)
Status = Literal["pending", "running", "done", "failed", "skipped"]
Progress = Callable[[int, int, str, Status], None]


class StageError(VideoKRError):
    """A stage failed; the message carries the tail of its log and the command that replays it."""


@dataclass(frozen=True)
class RunResult:
    """What happened to each stage of one `run_stages` call."""

    run_dir: Path
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    manifest: Mapping[str, Any]
    plans: Mapping[str, str] = field(default_factory=dict)  # dry run: what each stage would do
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # of every stage done


def run_stages(
    stages: Sequence[Stage],
    run_dir: Path,
    config: Mapping[str, Any],
    *,
    start: str | None = None,
    until: str | None = None,
    dry_run: bool = False,
    python: str | None = None,
    on_stage: Progress | None = None,
) -> RunResult:
    """Run `stages` in order inside `run_dir`, skipping those already done with the same fingerprint.

    `start` forces a re-run from that stage on; `until` stops after that stage; `python` is the interpreter of
    the engine environment, for a caller that names one.
    """
    names = [stage.name for stage in stages]
    for name in (start, until):
        if name is not None and name not in names:
            raise VideoKRError(f"unknown stage {name!r}; stages are: {', '.join(names)}")
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    if not dry_run:
        run_dir.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(run_dir)
    entries: dict[str, Any] = manifest.setdefault("stages", {})
    ran, skipped = [], []
    plans: dict[str, str] = {}
    for index, stage in enumerate(stages[: last + 1]):
        ctx = StageContext(
            run_dir, run_dir / stage.name, config, tuple(names[:index]), _done_outputs(entries), dry_run, python
        )
        fp, state = fingerprint_stage(stage, ctx), fingerprint_state(stage, ctx)
        entry = entries.get(stage.name, {})
        if index < first and entry.get("status") != "done":
            raise VideoKRError(f"stage {stage.name} has not finished: run without --from {start} first")
        unchanged = entry.get("status") == "done" and entry.get("fingerprint") == fp
        if index < first or (start is None and unchanged):
            skipped.append(stage.name)
            _notify(on_stage, index, len(stages), stage.name, "skipped")
            continue
        if dry_run:
            plans[stage.name] = stage.plan(ctx)
            continue
        _notify(on_stage, index, len(stages), stage.name, "running")
        if entry.get("state", entry.get("fingerprint")) != state or start is not None:
            clear_stage_dir(ctx.stage_dir)  # new config, new inputs or --from: engines must not resume old state
        _run_one(stage, ctx, entries, (fp, state), manifest)
        ran.append(stage.name)
        _notify(on_stage, index, len(stages), stage.name, "done")
    return RunResult(run_dir, tuple(ran), tuple(skipped), manifest, plans, _done_outputs(entries))


def _run_one(
    stage: Stage, ctx: StageContext, entries: dict[str, Any], fps: tuple[str, str], manifest: dict[str, Any]
) -> None:
    stage.check(ctx)
    ctx.stage_dir.mkdir(parents=True, exist_ok=True)
    entries[stage.name] = {
        "status": "running",
        "fingerprint": fps[0],
        "state": fps[1],
        "started": _now(),
        "videokr": __version__,
    }
    if stage.env is not None:
        entries[stage.name]["versions"] = stage_versions(stage.env)
    save_manifest(ctx.run_dir, manifest)
    try:
        outputs = dict(stage.run(ctx))
    except BaseException as exc:
        entries[stage.name].update(status="failed", ended=_now(), error=str(exc).splitlines()[0] if str(exc) else "")
        save_manifest(ctx.run_dir, manifest)
        if isinstance(exc, Exception) and not isinstance(exc, StageError):
            raise StageError(failure_message(stage.name, ctx.stage_dir, exc)) from exc
        raise
    entries[stage.name].update(status="done", ended=_now(), outputs=_jsonable(outputs))
    save_manifest(ctx.run_dir, manifest)


def clear_stage_dir(stage_dir: Path) -> None:
    """Remove what an earlier run of a stage left, so engines that resume (verl, LLaMA-Factory, eval) start fresh.

    Only a stage re-run with the same fingerprint (interrupted, failed) keeps its directory and resumes.
    """
    if stage_dir.exists():
        LOG.info("starting %s afresh: removing the outputs of its earlier run", stage_dir)
        shutil.rmtree(stage_dir)


def stage_versions(env: str) -> dict[str, str | None]:
    """Versions of the key packages in the environment a stage launches in (read from metadata, not imported)."""
    from videokr.engines import envs

    stage = next((known for known in envs.STAGES if known == env), None)
    if stage is None:
        return {}
    probe = envs.probe_versions(envs.launch_python(stage), envs.KEY_PACKAGES[stage])
    return {} if probe is None else {"python": probe[0], **probe[1]}


def failure_message(stage: str, stage_dir: Path, exc: BaseException, tail_lines: int = 20) -> str:
    """The error shown for a failed stage: the cause, the tail of its engine log, the replay command."""
    lines = [f"stage {stage} failed: {exc}"]
    log = stage_dir / "engine.log"
    if log.is_file():
        tail = log.read_text(errors="replace").splitlines()[-tail_lines:]
        lines += [f"--- last {len(tail)} lines of {log} ---", *tail, "---"]
    command = stage_dir / "command.sh"
    if command.is_file():
        lines.append(f"replay it with: bash {command}")
    return "\n".join(lines)


def fingerprint_stage(stage: Stage, ctx: StageContext) -> str:
    """Hash of the stage's config keys and its input files: unchanged means the stage need not run again."""
    return _fingerprint(stage, ctx)


def fingerprint_state(stage: Stage, ctx: StageContext) -> str:
    """The fingerprint without `resume_keys`: unchanged means the engine may resume from what the stage left."""
    config = ctx.config
    for key in stage.resume_keys:
        config = _without(config, key)
    return _fingerprint(stage, ctx, config)


def _fingerprint(stage: Stage, ctx: StageContext, config: Mapping[str, Any] | None = None) -> str:
    digest = hashlib.sha256(stage.name.encode())
    for key in stage.config_keys:
        value = config_value(ctx.config if config is None else config, key)
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    for path in stage.inputs(ctx).values():
        digest.update(fingerprint_path(Path(path)).encode())
    return digest.hexdigest()[:16]


def config_value(config: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted key (`data.sft_file`) of a nested mapping, None where it is absent.

    >>> config_value({"data": {"sft_file": "a.jsonl"}}, "data.sft_file"), config_value({}, "grpo.lr")
    ('a.jsonl', None)
    """
    value: Any = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _without(config: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    """`config` without the value at a dotted key (a copy of the mappings on its path).

    >>> _without({"grpo": {"lr": 1, "steps": 2}}, "grpo.steps")
    {'grpo': {'lr': 1}}
    """
    head, _, rest = dotted.partition(".")
    if head not in config:
        return config
    if not rest:
        return {key: value for key, value in config.items() if key != head}
    inner = config[head]
    return {**config, head: _without(inner, rest)} if isinstance(inner, Mapping) else config


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest, or a fresh one."""
    path = run_dir / "manifest.json"
    if path.is_file():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return {"videokr": __version__, "created": _now(), "stages": {}}


def save_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest atomically."""
    write_json(run_dir / "manifest.json", manifest)


def _done_outputs(entries: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {name: entry.get("outputs", {}) for name, entry in entries.items() if entry.get("status") == "done"}


def _notify(callback: Callable[[int, int, str, Status], None] | None, i: int, n: int, name: str, s: Status) -> None:
    if callback is not None:
        callback(i, n, name, s)
    else:
        LOG.info("[%d/%d] %s: %s", i + 1, n, name, s)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
