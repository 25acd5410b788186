"""videokr.data.verdict: the one video check behind `data check` and prepare-rl's length filter, on real files."""

from pathlib import Path

import pytest

from videokr.data.rl import check_row
from videokr.data.verdict import check_video
from videokr.data.videos import probe_video
from videokr.errors import VideoError


def _frames(info: object) -> tuple[int, int]:
    return 10, 10


def test_a_good_clip_fits_and_an_over_long_one_does_not(good_videos: dict[str, Path]) -> None:
    path = str(next(iter(good_videos.values())))
    assert check_video(path, probe_video, _frames, 10).status == "ok"
    too_long = check_video(path, probe_video, _frames, 9)
    assert (too_long.status, too_long.length, too_long.reason) == ("too_long", 10, "10 tokens > 9")


@pytest.mark.parametrize("name", ["truncated", "zero_bytes", "not_a_video", "audio_only"])
def test_broken_files_are_unreadable_with_the_probe_s_reason(broken_videos: dict[str, Path], name: str) -> None:
    verdict = check_video(str(broken_videos[name]), probe_video, _frames, 10**6)
    assert verdict.status == "unreadable" and verdict.probe_status not in ("ok", "missing") and verdict.reason


def test_a_missing_file_and_a_counting_failure_are_told_apart(tmp_path: Path, good_videos: dict[str, Path]) -> None:
    assert check_video(str(tmp_path / "gone.mp4"), probe_video, _frames, 10).status == "missing"

    def fails(info: object) -> tuple[int, int]:
        raise VideoError("no frames at this fps")

    verdict = check_video(str(next(iter(good_videos.values()))), probe_video, fails, 10)
    assert (verdict.status, verdict.probe_status, verdict.reason) == ("unreadable", "error", "no frames at this fps")


class _Budget:
    def __init__(self, tokens: int) -> None:
        self.tokens = tokens

    def count(self, messages: object, video: object, video_cfg: object) -> int:
        return self.tokens


def test_prepare_rl_words_the_same_verdicts_as_dropped_reasons(tmp_path: Path, good_videos: dict[str, Path]) -> None:
    row = {"prompt": [], "videos": [{"video": str(next(iter(good_videos.values()))), "fps": 2.0}]}
    assert check_row(row, _Budget(5), probe_video, 10) is None
    assert check_row(row, _Budget(11), probe_video, 10) == ("too_long", "prompt has 11 tokens > max_prompt_length 10")
    gone = {**row, "videos": [{"video": str(tmp_path / "gone.mp4")}]}
    reason, detail = check_row(gone, _Budget(5), probe_video, 10) or ("", "")
    assert reason == "video_missing" and detail.startswith(str(tmp_path / "gone.mp4"))
