"""Synthetic videos (PyAV) for tests, benchmarks and the demo corpus; nothing here needs the network."""

from collections.abc import Callable
from fractions import Fraction
from typing import Literal
from pathlib import Path

import av
import numpy as np

# frame index -> HxWx3 uint8 RGB frame
FramePainter = Callable[[int], np.ndarray]


def solid_painter(width: int, height: int, rgb: tuple[int, int, int] = (200, 60, 20), seed: int = 0) -> FramePainter:
    """A painter drawing a moving bright square of colour `rgb` over low noise (cheap to encode, not static)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 40, size=(height, width, 3), dtype=np.uint8)
    side = max(2, min(width, height) // 3)

    def paint(index: int) -> np.ndarray:
        frame = base.copy()
        x = (index * 3) % max(1, width - side)
        y = (index * 2) % max(1, height - side)
        frame[y : y + side, x : x + side] = rgb
        return frame

    return paint


def write_video(
    path: str | Path,
    *,
    width: int = 64,
    height: int = 64,
    fps: float = 8.0,
    seconds: float = 2.0,
    gop: int = 12,
    painter: FramePainter | None = None,
    codec: Literal["libx264", "mpeg4"] = "libx264",
    rotation: int = 0,
) -> Path:
    """Encode a short H.264 mp4 of `seconds` at `fps` with a keyframe every `gop` frames; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    paint = painter or solid_painter(width, height)
    n_frames = max(1, round(seconds * fps))
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream(codec, rate=_as_fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        if rotation:
            stream.metadata["rotate"] = str(rotation)
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(paint(index), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def write_audio_only(path: str | Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    """An .mp4 with a single AAC audio stream and no video stream."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for _ in range(int(seconds * rate / 1024) + 1):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def _as_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)
