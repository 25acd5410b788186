"""Frames for vision steps: the project's frame plan (videokr.data.videos) picks them, PyAV decodes them.

The plan is qwen-vl-utils' own sampling at `frames.fps` with at most `frames.max_frames` frames, so a model step
sees the frames a trained model would; a single-frame check takes the plan's middle frame.
"""

import base64
import io
from pathlib import Path
from typing import Any

from videokr.build.config import FramesConfig
from videokr.deps import require


def planned(path: str | Path, settings: FramesConfig) -> tuple[tuple[int, ...], float]:
    """(the plan's frame indices, the rate of those frames per second of video) for the video at `path`."""
    from videokr.data.videos import VideoSettings, count_visual_tokens, probe_video

    info = probe_video(path)
    plan = count_visual_tokens(
        info, VideoSettings(fps=settings.fps, min_frames=2, max_frames=max(2, settings.max_frames)), "qwen2_5_vl"
    )
    indices = plan.frame_indices
    return indices, len(indices) / info.duration if info.duration > 0 else settings.fps


def planned_images(path: str | Path, settings: FramesConfig, *, single: bool = False) -> tuple[list[Any], float]:
    """(the planned frames as RGB PIL images, only the middle one when `single`; their rate per second of video)."""
    import av

    indices, rate = planned(path, settings)
    wanted = {indices[len(indices) // 2]} if single else set(indices)
    images: list[Any] = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                images.append(frame.to_image().convert("RGB"))
            if index >= max(wanted):
                break
    return images, rate


def sample_frames(path: str | Path, settings: FramesConfig, *, single: bool = False) -> list[str]:
    """The planned frames as JPEG data URLs (only the middle one when `single`)."""
    return [_data_url(image, settings.max_side) for image in planned_images(path, settings, single=single)[0]]


def _data_url(image: object, max_side: int) -> str:
    require("PIL")
    image.thumbnail((max_side, max_side))  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85)  # type: ignore[attr-defined]
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
