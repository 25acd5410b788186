"""One check of one row's video, shared by `videokr data check` and prepare-rl's length filter.

Probe the file, count its tokens (visual only, or the whole prompt), compare with the budget. The callers differ
only in how they count (data check also reports frames and visual tokens) and in how they word a verdict (a
report status, or a dropped.jsonl reason), never in what they decide.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from videokr.errors import VideoKRError

Status = Literal["ok", "missing", "unreadable", "too_long"]
Probe = Callable[[str], Any]  # path -> VideoInfo (with .status and .reason)
# info -> (the length compared with the budget, whatever else the caller wants back, e.g. its TokenCount)
Counter = Callable[[Any], tuple[int, Any]]


@dataclass(frozen=True)
class VideoVerdict:
    """What checking one video found: a status, the probe's own status, why, and what was counted."""

    status: Status
    probe_status: str = "ok"  # the probe's status (missing, unreadable, ...), or "error" when counting failed
    reason: str = ""
    length: int | None = None
    counted: Any = None
    info: Any = None


def check_video(path: str, probe: Probe, count: Counter, max_length: int) -> VideoVerdict:
    """Probe `path`, count it with `count`, and say whether it fits in `max_length` tokens.

    >>> class Info:
    ...     status, reason = "ok", ""
    >>> check_video("a.mp4", lambda p: Info(), lambda info: (120, None), 100).status
    'too_long'
    """
    info = probe(path)
    status = getattr(info, "status", "ok")
    if status != "ok":
        reason = getattr(info, "reason", status)
        return VideoVerdict("missing" if status == "missing" else "unreadable", status, reason, info=info)
    try:
        length, counted = count(info)
    except VideoKRError as exc:  # where the engine's own filter would fail on this video
        return VideoVerdict("unreadable", "error", str(exc), info=info)
    if length > max_length:
        return VideoVerdict(
            "too_long", reason=f"{length} tokens > {max_length}", length=length, counted=counted, info=info
        )
    return VideoVerdict("ok", length=length, counted=counted, info=info)
