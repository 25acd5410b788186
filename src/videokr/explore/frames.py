"""A few still frames of a clip, as small JPEGs, for a page that cannot (or should not) link the video itself."""

import logging
from pathlib import Path

from videokr.deps import require

LOG = logging.getLogger(__name__)


def extract_frames(video: str | Path, out_dir: str | Path, count: int, height: int = 96) -> list[Path]:
    """`count` frames evenly spaced over the clip, scaled to `height` pixels, as out_dir/frame_K.jpg.

    A clip that does not decode gives no frames (logged), never an error: the page then says so.
    """
    av = require("av")
    out = Path(out_dir)
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            total = stream.frames or int(
                float((stream.duration or 0) * (stream.time_base or 0)) * float(stream.average_rate or 0)
            )
            wanted = _spaced(max(total, 1), count)
            decoded = []
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    decoded.append(frame.to_image())
                if index >= max(wanted):
                    break
    except (av.error.FFmpegError, IndexError, OSError, TypeError) as exc:  # broken, truncated, no video stream
        LOG.warning("no frames from %s: %s", video, exc)
        return []
    if not decoded:
        return []
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, image in enumerate(decoded):
        width = max(1, round(image.width * height / image.height))
        path = out / f"frame_{k}.jpg"
        image.convert("RGB").resize((width, height)).save(path, format="JPEG", quality=75)
        written.append(path)
    return written


def _spaced(total: int, count: int) -> set[int]:
    """`count` frame indexes evenly spaced over `total` frames, first and last included.

    >>> sorted(_spaced(16, 4)), sorted(_spaced(2, 4))
    ([0, 5, 10, 15], [0, 1])
    """
    return {round(i * (total - 1) / max(1, count - 1)) for i in range(max(1, count))}
