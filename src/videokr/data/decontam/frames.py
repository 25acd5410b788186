"""Frames sampled at a fixed rate, decoded only as far as they need, and their perceptual hashes (pHash).

A video becomes a `VideoHashes`: one 64-bit pHash (imagehash) per sample, `rate` samples a second from t=0,
and a flag per sample saying whether it is informative. Decoding is the cost, so it is cut where the hash
cannot tell: non-reference frames (B-frames) and the deblocking filter are skipped, one decoder thread runs per
worker, and only the frame nearest each sample time is converted, straight to a small grey image by swscale.

Robustness: black borders (letterbox, pillarbox) are cropped per video, from the pixels that are ever lit, so
a padded copy hashes its content alone; the crop is resized to pHash's 32x32, so resolution and frame rate do
not matter, and pHash compares DCT coefficients with their median, so a brightness shift or a small crop moves
only a few bits. Near-uniform frames (a black or white frame, a fade) are flagged uninformative: they never
seed or confirm a match.
"""

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from videokr.deps import require
from videokr.errors import VideoError

# Grey frames are scaled to this width before cropping and hashing: 4x pHash's own 32x32 input.
GREY_WIDTH = 128
# A row or column whose brightest pixel over the whole video stays below this is a border (bars encode near 16).
BORDER_LEVEL = 40
# A cropped frame whose standard deviation is below this is near-uniform (0-255 scale).
MIN_STD = 8.0
FINGERPRINT_BLOCK = 1 << 20


@dataclass(frozen=True)
class HashSettings:
    """How frames are sampled and hashed; part of every cache key."""

    rate: float = 2.0  # samples per second
    hash_size: int = 8  # pHash side: 8 gives 64 bits
    min_std: float = MIN_STD

    @property
    def key(self) -> str:
        """A short text naming these settings and the hash version (changes invalidate cached hashes)."""
        return f"phash{self.hash_size}-r{self.rate:g}-s{self.min_std:g}-v1"


@dataclass(frozen=True)
class VideoHashes:
    """One video's pHash sequence: `hashes[i]` at `i / rate` seconds; `informative[i]` False for uniform frames."""

    rate: float
    hashes: np.ndarray  # uint64, shape (n,)
    informative: np.ndarray  # bool, shape (n,)

    @property
    def seconds(self) -> float:
        """The hashed duration in seconds."""
        return len(self.hashes) / self.rate


def fingerprint_file(path: str | os.PathLike[str]) -> str:
    """A content fingerprint: the size plus the first, middle and last MiB (blake2b); renames keep it."""
    size = os.path.getsize(path)
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        for start in sorted({0, max(0, size // 2 - FINGERPRINT_BLOCK // 2), max(0, size - FINGERPRINT_BLOCK)}):
            handle.seek(start)
            digest.update(handle.read(FINGERPRINT_BLOCK))
    return digest.hexdigest()


def hash_video(path: str | os.PathLike[str], settings: HashSettings = HashSettings()) -> VideoHashes:
    """Sample `path` at `settings.rate` and hash every sample; VideoError when it cannot be decoded."""
    frames = sample_frames(path, settings.rate)
    if not frames:
        raise VideoError(f"{path}: no video frames decoded")
    return hash_frames(frames, settings)


def sample_frames(path: str | os.PathLike[str], rate: float) -> list[np.ndarray]:
    """Grey frames (GREY_WIDTH wide) nearest each multiple of 1/rate seconds, decoding as little as possible."""
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            stream = container.streams.video[0]
            return _decode_samples(container, stream, rate)
    except (av.FFmpegError, ValueError) as exc:
        raise VideoError(f"{path}: cannot decode: {exc}") from exc
    raise AssertionError("unreachable")  # mypy: av.open's context manager may swallow exceptions


def _decode_samples(container: Any, stream: Any, rate: float) -> list[np.ndarray]:
    context = stream.codec_context
    context.options = {"skip_loop_filter": "all"}  # deblocking changes nothing a 32x32 hash can see
    context.skip_frame = "NONREF"  # B-frames are never referenced: skipping them leaves the rest exact
    stream.thread_type = "NONE"  # parallelism comes from workers; one thread per core decodes most per core-second
    width, height = _grey_size(stream)
    frames: list[np.ndarray] = []
    step = 1.0 / rate
    early = step / 4  # a frame this much before a sample time may stand for it
    for frame in container.decode(stream):
        if frame.time is None or frame.time < len(frames) * step - early:
            continue
        grey = frame.reformat(width=width, height=height, format="gray").to_ndarray()
        while len(frames) * step - early < frame.time:  # more than one slot after a gap: repeat, keep the grid
            frames.append(grey)
    return frames


def _grey_size(stream: Any) -> tuple[int, int]:
    width = stream.codec_context.width or GREY_WIDTH
    height = stream.codec_context.height or GREY_WIDTH
    return GREY_WIDTH, max(8, round(GREY_WIDTH * height / width / 2) * 2)


def content_box(frames: list[np.ndarray]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels ever brighter than BORDER_LEVEL: the picture without its bars."""
    lit = np.max(np.stack(frames), axis=0) >= BORDER_LEVEL
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    height, width = lit.shape
    if len(rows) < height // 4 or len(cols) < width // 4:  # a dark video: keep the whole frame
        return 0, height, 0, width
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def hash_frames(frames: list[np.ndarray], settings: HashSettings) -> VideoHashes:
    """pHash every grey frame inside the video's content box; flag near-uniform ones."""
    imagehash = require("imagehash")
    from PIL import Image

    top, bottom, left, right = content_box(frames)
    hashes = np.empty(len(frames), dtype=np.uint64)
    informative = np.empty(len(frames), dtype=bool)
    side = settings.hash_size * 4
    for index, frame in enumerate(frames):
        image = Image.fromarray(np.ascontiguousarray(frame[top:bottom, left:right]))
        small = image.resize((side, side), Image.Resampling.BILINEAR)
        bits = imagehash.phash(small, hash_size=settings.hash_size).hash.flatten()
        hashes[index] = int(np.packbits(bits).view(">u8")[0])
        informative[index] = float(np.asarray(small, dtype=np.float32).std()) >= settings.min_std
    return VideoHashes(settings.rate, hashes, informative)
