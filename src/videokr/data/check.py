"""`videokr data check`: probe every row's video, count its frames and visual tokens, flag what would break a run.

One report line per row (line, problem_id, video, status, frames, visual_tokens, prompt_tokens, reason), in
input order, written atomically; videos are probed inline, in a process pool or on a Ray cluster (data/parallel.py),
with the same report. Video settings per stage follow PROTOCOL.md sections 4, 6 and 7: rl = verl's `videos` entry (qwen-vl-utils), sft = LLaMA-Factory's
video_fps / video_maxlen / video_max_pixels, eval = qwen-vl-utils with lmms-eval's published limits.
`prompt_tokens` (with a tokenizer) is exact for rl (verl's length filter); for sft and eval it renders the
stage's prompt with the checkpoint's own chat template, an estimate within a few template tokens.
"""

import functools
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from videokr.config.evaluation import GenerationConfig
from videokr.config.sft import SFTConfig
from videokr.data.parallel import map_chunks
from videokr.data.rl import VIDEO_DEFAULTS as RL_VIDEO
from videokr.data.verdict import check_video
from videokr.data.videos import (
    Family,
    ProcessorConfig,
    VideoSettings,
    count_visual_tokens,
    probe_video,
)
from videokr.errors import ConfigError, DataError
from videokr.families import FAMILIES
from videokr.io import atomic_open

log = logging.getLogger(__name__)

Stage = Literal["sft", "rl", "eval"]
STAGES: tuple[Stage, ...] = ("sft", "rl", "eval")
STATUSES = ("ok", "missing", "unreadable", "too_long", "invalid_row")


def stage_settings(stage: Stage) -> tuple[VideoSettings, dict[str, Any]]:
    """The published video settings of a stage, and its verl-style entry (for the prompt budget).

    Each comes from where the stage itself reads it: verl's `videos` entry of prepare-rl, and the defaults of the
    eval and sft config sections (PROTOCOL.md sections 4, 6 and 7).
    """
    if stage == "rl":
        return VideoSettings.from_video_dict(RL_VIDEO), RL_VIDEO
    if stage == "eval":
        gen = GenerationConfig()
        entry = {"fps": gen.fps, "max_frames": gen.max_frames, "max_pixels": gen.max_pixels}
        return VideoSettings.from_video_dict(entry), entry
    if stage == "sft":
        sft = SFTConfig()
        settings = VideoSettings.llamafactory(
            video_fps=sft.video_fps, video_maxlen=sft.video_maxlen, video_max_pixels=sft.video_max_pixels
        )
        return settings, {}
    raise ConfigError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")


@dataclass(frozen=True)
class CheckOptions:
    """Everything a worker needs (picklable)."""

    family: Family
    stage: Stage = "rl"
    tokenizer: str | None = None
    max_prompt_length: int = 16384
    image_patch_size: int | None = None


@dataclass
class CheckSummary:
    """Counts per status and token statistics of a finished check."""

    report: Path
    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    max_visual_tokens: int = 0
    max_prompt_tokens: int = 0
    mean_frames: float = 0.0

    def table(self) -> list[dict[str, Any]]:
        """One row per status (for the CLI's table)."""
        return [
            {
                "status": s,
                "rows": self.statuses.get(s, 0),
                "share": f"{100 * self.statuses.get(s, 0) / max(1, self.rows):.1f}%",
            }
            for s in STATUSES
        ]


_STATE: dict[str, Any] = {}


def _init(options: CheckOptions) -> None:
    """Per-process setup: the processor config and, with a tokenizer, the prompt budget (loaded once)."""
    _STATE.clear()
    _STATE["options"] = options
    _STATE["settings"], _STATE["entry"] = stage_settings(options.stage)
    if options.tokenizer:
        from videokr.data.budget import PromptBudget

        budget = PromptBudget.from_model(options.tokenizer, options.family, options.image_patch_size)
        _STATE["budget"] = budget
        _STATE["config"] = budget.config
    else:
        _STATE["config"] = ProcessorConfig.default(options.family)


# A task: (line, problem_id, relative video, absolute path or None, prompt messages or None, invalid reason)
Task = tuple[int, str, str, str | None, list[dict[str, Any]] | None, str]


def _check_task(task: Task) -> dict[str, Any]:
    line, problem_id, video, path, messages, invalid = task
    row: dict[str, Any] = {"line": line, "problem_id": problem_id, "video": video, "status": "ok"}
    row.update(frames=None, visual_tokens=None, prompt_tokens=None, reason="")
    if invalid or path is None:
        row.update(status="invalid_row", reason=invalid or "no video")
        return row
    verdict = check_video(
        path, probe_video, functools.partial(_count, path, messages), _STATE["options"].max_prompt_length
    )
    if verdict.counted is not None:
        count = verdict.counted
        row.update(frames=count.frames, visual_tokens=count.tokens, duration=round(verdict.info.duration, 3))
        if "budget" in _STATE and messages is not None:
            row["prompt_tokens"] = verdict.length
    if verdict.status in ("missing", "unreadable") and verdict.probe_status != "error":
        row.update(status=verdict.status, reason=f"{verdict.probe_status}: {verdict.reason}")
    elif verdict.status != "ok":
        row.update(status=verdict.status, reason=verdict.reason)
    return row


def _count(path: str, messages: list[dict[str, Any]] | None, info: Any) -> tuple[int, Any]:
    """(visual tokens, or the whole prompt with a tokenizer; the TokenCount) of one probed video."""
    options: CheckOptions = _STATE["options"]
    count = count_visual_tokens(info, _STATE["settings"], options.family, _STATE["config"], options.image_patch_size)
    if "budget" in _STATE and messages is not None:
        return _STATE["budget"].count_with(messages, [{**_STATE["entry"], "video": path}], [count]), count
    return count.tokens, count


def _check_chunk(options: CheckOptions, tasks: list[Task]) -> list[dict[str, Any]]:
    # Runs in a pool process or a Ray worker: set up once per process (a reused worker keeps its state).
    if _STATE.get("options") != options:
        _init(options)
    return [_check_task(task) for task in tasks]


def _tasks(input_path: Path, video_root: Path, stage: Stage, want_prompt: bool) -> Iterator[Task]:
    from videokr.data.read import read_samples, resolve_video_path
    from videokr.prompts import render_prompt
    from videokr.records import RowIssue

    for line, item in read_samples(input_path):
        if isinstance(item, RowIssue):
            yield line, "", "", None, None, f"{item.field}: {item.message}"
            continue
        if not item.video_path:
            yield line, item.problem_id, "", None, None, "video_path: missing"
            continue
        messages = None
        if want_prompt:
            text = render_prompt(item, stage)
            if "<video>" not in text:  # the eval prompt carries no placeholder; lmms-eval puts the video first
                text = "<video>" + text
            messages = [{"role": "user", "content": text}]
        path = str(resolve_video_path(video_root, item.video_path))
        yield line, item.problem_id, item.video_path, path, messages, ""


def check_corpus(
    input_path: str | os.PathLike[str],
    video_root: str | os.PathLike[str],
    family: Family,
    report_path: str | os.PathLike[str],
    stage: Stage = "rl",
    tokenizer: str | None = None,
    workers: int = 1,
    max_prompt_length: int = 16384,
    image_patch_size: int | None = None,
    progress: bool = True,
    ray_address: str | None = None,
) -> CheckSummary:
    """Check every row of `input_path`; write the per-row report; return the summary.

    Videos are probed inline (one worker), in `workers` local processes, or as tasks on the Ray cluster at
    `ray_address`; the report is the same in every case.
    """
    source, root = Path(input_path), Path(video_root)
    if not source.is_file():
        raise DataError(f"{source}: input file not found")
    if not root.is_dir():
        raise DataError(f"{root}: video root is not a directory")
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    stage_settings(stage)
    options = CheckOptions(family, stage, tokenizer, max_prompt_length, image_patch_size)
    summary = CheckSummary(Path(report_path))
    frames_total = 0
    tasks = _tasks(source, root, stage, want_prompt=tokenizer is not None)
    rows = map_chunks(
        functools.partial(_check_chunk, options), tasks, workers=workers, chunk_size=16, ray_address=ray_address
    )
    with atomic_open(summary.report) as out:
        for row in tqdm(rows, desc="check", unit="row", disable=not progress):
            out.write(json.dumps(row) + "\n")  # ASCII escapes: a report line can always be written
            summary.rows += 1
            summary.statuses[row["status"]] += 1
            summary.max_visual_tokens = max(summary.max_visual_tokens, row["visual_tokens"] or 0)
            summary.max_prompt_tokens = max(summary.max_prompt_tokens, row["prompt_tokens"] or 0)
            frames_total += row["frames"] or 0
        if summary.rows == 0:
            raise DataError(f"{source}: no rows")
    measured = (
        summary.rows - summary.statuses["invalid_row"] - summary.statuses["missing"] - summary.statuses["unreadable"]
    )
    summary.mean_frames = frames_total / max(1, measured)
    return summary
