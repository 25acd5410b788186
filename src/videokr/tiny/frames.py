"""A small PyAV frame reader for feeding clips to a Qwen processor (torchvision.io.read_video is gone)."""

from pathlib import Path
from typing import Any

import av
import numpy as np

from videokr.errors import VideoError


def sample_indices(total: int, num_frames: int) -> list[int]:
    """`num_frames` indices spread evenly over `total` frames, first and last included.

    >>> sample_indices(10, 4)
    [0, 3, 6, 9]
    >>> sample_indices(3, 4)
    [0, 1, 1, 2]
    """
    return [int(i) for i in np.linspace(0, total - 1, num_frames).round().astype(int)]


def read_frames(path: str | Path, num_frames: int) -> tuple[np.ndarray, float]:
    """Decode `num_frames` evenly spaced RGB frames; returns (frames T x H x W x 3 uint8, fps of those frames).

    The fps returned is the rate of the sampled frames (num_frames / duration), the value Qwen processors want
    with pre-sampled frames (`VideoMetadata(fps=..., frames_indices=range(T))`, `do_sample_frames=False`).
    Raises VideoError for a missing, empty, truncated or non-video file.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    source = Path(path)
    if not source.is_file():
        raise VideoError(f"{source}: no such file")
    try:
        with av.open(str(source)) as container:
            if not container.streams.video:
                raise VideoError(f"{source}: has no video stream")
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            frames, total = _decode(container, stream, num_frames)
    except av.FFmpegError as exc:
        raise VideoError(f"{source}: cannot decode ({exc})") from exc
    if not frames:
        raise VideoError(f"{source}: no decodable frames")
    duration = total / rate if rate > 0 else float(total)
    return np.stack(frames), num_frames / duration


def _decode(container: Any, stream: Any, num_frames: int) -> tuple[list[np.ndarray], int]:
    """Decode sequentially, keeping only the sampled frames when the container states its frame count."""
    expected = int(stream.frames or 0)
    if expected <= 0:  # count unknown: decode everything, then sample
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return ([decoded[i] for i in sample_indices(len(decoded), num_frames)] if decoded else []), len(decoded)
    wanted = sample_indices(expected, num_frames)
    kept: dict[int, np.ndarray] = {}
    seen = 0
    for index, frame in enumerate(container.decode(stream)):
        seen = index + 1
        if index in wanted:
            kept[index] = frame.to_ndarray(format="rgb24")
        if index >= wanted[-1]:
            break
    if seen <= wanted[-1]:
        raise VideoError(f"{container.name}: truncated, decoded {seen} of {expected} frames")
    return [kept[i] for i in wanted], expected


def frames_metadata(frames: np.ndarray, fps: float) -> Any:
    """transformers' VideoMetadata for frames from `read_frames` (every frame used, at `fps`)."""
    from transformers.video_utils import VideoMetadata

    count = int(frames.shape[0])
    return VideoMetadata(
        total_num_frames=count,
        fps=fps,
        width=int(frames.shape[2]),
        height=int(frames.shape[1]),
        duration=count / fps,
        frames_indices=list(range(count)),
    )
