"""The video-level split: every item of a video goes to the SFT file (with CoT) or to the RL file (without).

Splitting by video keeps a clip's questions on one side, so RL never rewards answers to clips SFT trained on.
Rows are VideoKR rows (PROTOCOL.md section 2) that `videokr data validate` accepts.
"""

import random
from collections.abc import Mapping, Sequence
from typing import Any

SFT_FIELDS = ("problem_id", "problem_type", "question", "options", "solution", "think", "video_path")
LABELS = ("subject", "dataset", "skill", "discipline")


def to_row(item: Mapping[str, Any], dataset: str, *, with_think: bool) -> dict[str, Any]:
    """The VideoKR row of an item (build-only fields dropped).

    >>> to_row({"problem_id": "p", "question": "Q?", "solution": "x", "think": "t", "video_path": "a.mp4", "model": "m"}, "d", with_think=False)
    {'problem_id': 'p', 'question': 'Q?', 'solution': 'x', 'video_path': 'a.mp4', 'dataset': 'd'}
    """
    row = {k: item[k] for k in SFT_FIELDS if k in item and (with_think or k != "think")}
    row.update({k: item[k] for k in LABELS if item.get(k)})
    row["dataset"] = dataset
    return row


def split_items(
    items: Sequence[Mapping[str, Any]], rl_fraction: float, seed: int
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(SFT items, RL items): a seeded share `rl_fraction` of the videos goes to RL, the rest to SFT.

    >>> sft, rl = split_items([{"video_id": v} for v in "aabbc"], 0.4, 0)
    >>> sorted({i["video_id"] for i in sft} & {i["video_id"] for i in rl})
    []
    """
    videos = sorted({str(item["video_id"]) for item in items})
    random.Random(seed).shuffle(videos)
    rl_videos = set(videos[: round(len(videos) * rl_fraction)])
    sft = [item for item in items if str(item["video_id"]) not in rl_videos]
    rl = [item for item in items if str(item["video_id"]) in rl_videos]
    return sft, rl
