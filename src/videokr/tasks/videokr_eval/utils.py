"""lmms-eval functions of the `videokr_eval` task: videos, prompts (PROTOCOL.md 3) and scoring (PROTOCOL.md 6).

The task yaml names these functions by absolute module path, so any copy of it works wherever videokr is installed.
Settings come from the task's `lmms_eval_specific_kwargs` (video_root, prompt_style) and, for process_results
which receives no kwargs, from the environment: VIDEOKR_SCORING_STYLE (fixed | compat), VIDEOKR_JUDGE (e.g.
openai:gpt-4o; empty: rule scoring, open-ended rows skipped) and VIDEOKR_JUDGE_CACHE.
"""

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from videokr.prompts import render_prompt
from videokr.records import RowError, Sample, pick
from videokr.scoring import score_prediction

logger = logging.getLogger("videokr.tasks.videokr_eval")

METRIC = "videokr_acc"
ROW_ID_FIELD = "_videokr_id"  # added by `videokr eval` to the per-run data file, to join answers back to rows
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".flv", ".m4v")
_JUDGES: dict[str, Any] = {}


def find_video(root: str, relative: str) -> str:
    """The first existing file among `<root>/<path>`, that path plus each video suffix, then the same under Videos/
    (or without the leading Videos/ when the row has one).

    When none exists the first candidate is returned, so the model's loader reports the missing file.
    """
    relative = relative.lstrip("/") if root else relative
    bases = [os.path.join(root, relative) if root else relative]
    if root:  # PROTOCOL.md 4: relative paths resolve against the root, then against <root>/Videos/
        other = relative.removeprefix("Videos/") if relative.startswith("Videos/") else f"Videos/{relative}"
        bases.append(os.path.join(root, other))
    for base in bases:
        for candidate in (base, *(base + suffix for suffix in VIDEO_SUFFIXES)):
            if os.path.isfile(candidate):
                return candidate
    return bases[0]


def _kwargs(lmms_eval_specific_kwargs: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return lmms_eval_specific_kwargs or {}


def videokr_doc_to_visual(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list:
    """The row's video as one resolved path (lmms-eval's Qwen models take paths)."""
    sample = Sample.from_raw(doc)
    if not sample.video_path:
        raise RowError("video_path", f"row {sample.problem_id!r} has no video")
    root = str(_kwargs(lmms_eval_specific_kwargs).get("video_root") or os.environ.get("VIDEOKR_VIDEO_ROOT", ""))
    return [find_video(root, sample.video_path)]


def videokr_doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """The published eval prompt of the row (PROTOCOL.md section 3)."""
    style = _kwargs(lmms_eval_specific_kwargs).get("prompt_style", "compat")
    return render_prompt(Sample.from_raw(doc), "eval", style)


def videokr_doc_to_target(doc: Mapping[str, Any]) -> str:
    """The reference answer text."""
    return str(pick(doc, "solution") or "")


def _judge() -> Any:
    spec = os.environ.get("VIDEOKR_JUDGE", "").strip()
    if not spec:
        return None
    if spec not in _JUDGES:
        from videokr.scoring import make_judge

        _JUDGES[spec] = make_judge(spec, cache_path=os.environ.get("VIDEOKR_JUDGE_CACHE") or None)
    return _JUDGES[spec]


def videokr_process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Score one response; the metric value carries the row and the prediction so samples files are self-contained."""
    prediction = str(results[0]) if results else ""
    style = os.environ.get("VIDEOKR_SCORING_STYLE", "fixed")
    verdict = score_prediction(doc, prediction, judge=_judge(), style=style)  # type: ignore[arg-type]
    value = dict(doc)
    value.update(prediction=prediction, correct=verdict.correct, mode=verdict.mode, reason=verdict.reason)
    return {METRIC: value}


def videokr_aggregate(results: Sequence[Mapping[str, Any]]) -> float:
    """Accuracy in percent over scored rows (skipped rows, e.g. open-ended without a judge, are left out)."""
    scored = [r for r in results if r.get("correct") is not None]
    skipped = len(results) - len(scored)
    if skipped:
        logger.warning("videokr_eval: %d of %d rows not scored (open-ended without a judge?)", skipped, len(results))
    if not scored:
        return 0.0
    return 100.0 * sum(1 for r in scored if r["correct"]) / len(scored)
