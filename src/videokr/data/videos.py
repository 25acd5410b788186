"""Video probing from container metadata and exact Qwen-VL visual-token arithmetic, without decoding frames.

`probe_video` reads what the decoders themselves read from the container header (PyAV, no frame decoded);
`count_visual_tokens` replays the frame-sampling and resize rules of the consumer that feeds the model
(qwen-vl-utils for verl and lmms-eval, LLaMA-Factory's video plugin for SFT) and then the model's own video
processor (transformers' Qwen2VLVideoProcessor / Qwen3VLVideoProcessor), which can resize a second time
(PROTOCOL.md section 8, "token budgets"). The arithmetic is tested against the real processors on decoded videos.
"""

import logging
import math
import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import av
import numpy as np

from videokr.errors import ConfigError, VideoError
from videokr.families import FAMILIES, Family

log = logging.getLogger(__name__)

VideoStatus = Literal["ok", "missing", "unreadable", "no_video_stream", "zero_duration"]
Consumer = Literal["qwen_vl_utils", "llamafactory"]

# qwen_vl_utils/vision_process.py (0.0.14) constants, used verbatim.
QVU_FRAME_FACTOR = 2
QVU_SPATIAL_MERGE_SIZE = 2
QVU_FPS = 2.0
QVU_FPS_MIN_FRAMES = 4
QVU_FPS_MAX_FRAMES = 768
QVU_VIDEO_MIN_TOKEN_NUM = 128
QVU_VIDEO_MAX_TOKEN_NUM = 768
QVU_MAX_RATIO = 200

# LLaMA-Factory 0.9.5 defaults (`getattr(processor, "video_*", default)` in mm_plugin.py).
LF_VIDEO_FPS = 2.0
LF_VIDEO_MAXLEN = 128
LF_VIDEO_MAX_PIXELS = 256 * 256
LF_VIDEO_MIN_PIXELS = 16 * 16


@dataclass(frozen=True)
class VideoInfo:
    """What the container header says about one video (no frame decoded).

    `frames` is the count decord reports (the header's frame count, else the number of video packets);
    `duration` is the stream's duration, else the container's; `stream_frames` / `stream_duration` keep the raw
    header values (0 / None when absent), which LLaMA-Factory reads directly. `rotation` is the display
    rotation in degrees (the `rotate` tag, else the mp4 track matrix), which decord applies and PyAV does not.
    """

    path: str
    status: VideoStatus
    reason: str = ""
    duration: float = 0.0
    fps: float = 0.0
    frames: int = 0
    width: int = 0
    height: int = 0
    rotation: int = 0
    stream_frames: int = 0
    stream_duration: Fraction | None = None
    average_rate: Fraction | None = None

    @property
    def ok(self) -> bool:
        """True when the video can be sampled."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (for reports)."""
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "duration": round(self.duration, 3),
            "fps": round(self.fps, 3),
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
        }


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Probe `path` from container metadata and classify it (ok / missing / unreadable / ...)."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        return VideoInfo(name, "missing", "no such file")
    if os.path.getsize(name) == 0:
        return VideoInfo(name, "unreadable", "empty file")
    try:
        container = av.open(name, mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        return VideoInfo(name, "unreadable", f"{type(exc).__name__}: {exc}".strip())
    try:
        return _probe_container(name, container)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return VideoInfo(name, "unreadable", f"{type(exc).__name__}: {exc}".strip())
    finally:
        container.close()


def _probe_container(name: str, container: Any) -> VideoInfo:
    streams = container.streams.video
    if not streams:
        return VideoInfo(name, "no_video_stream", "the container has no video stream")
    stream = streams[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    stream_duration = stream.duration * stream.time_base if stream.duration and stream.time_base else None
    container_seconds = container.duration / av.time_base if container.duration else 0.0
    duration = float(stream_duration) if stream_duration else container_seconds
    header_frames = int(stream.frames or 0)
    # decord's len(): the header count when present, else the packets it indexes while opening (mkv, webm).
    frames = header_frames or _count_packets(container, stream)
    if frames <= 0 and fps > 0:
        frames = int(fps * container_seconds)
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    base = dict(
        fps=fps,
        duration=duration,
        frames=frames,
        width=width,
        height=height,
        rotation=_rotation(name, stream),
        stream_frames=header_frames,
        stream_duration=Fraction(stream_duration) if stream_duration is not None else None,
        average_rate=Fraction(stream.average_rate) if stream.average_rate else None,
    )
    if width <= 0 or height <= 0:
        return VideoInfo(name, "unreadable", "the video stream has no frame size", **base)  # type: ignore[arg-type]
    if frames <= 0 or duration <= 0 or fps <= 0:
        reason = f"duration {duration:.3f} s, {frames} frames, {fps:.3f} fps"
        return VideoInfo(name, "zero_duration", reason, **base)  # type: ignore[arg-type]
    return VideoInfo(name, "ok", "", **base)  # type: ignore[arg-type]


def _count_packets(container: Any, stream: Any) -> int:
    try:
        return sum(1 for packet in container.demux(stream) if packet.size > 0)
    except (av.FFmpegError, OSError):
        return 0


def _rotation(name: str, stream: Any) -> int:
    """Display rotation in degrees, as decord reads it: the `rotate` tag first, then the display matrix."""
    tag = stream.metadata.get("rotate")
    if tag not in (None, "", "0"):
        try:
            return round(float(tag)) % 360
        except ValueError:
            pass
    matrix = _mp4_video_track_matrix(name)
    if matrix is None:
        return 0
    a, b = matrix
    if a == 0 and b == 0:
        return 0
    return round(math.degrees(math.atan2(b, a))) % 360


def _iter_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    boxes = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        boxes.append((kind, pos + header, pos + size))
        pos += size
    return boxes


def _read_moov(name: str) -> bytes | None:
    with open(name, "rb") as handle:
        pos = 0
        total = os.fstat(handle.fileno()).st_size
        while pos + 8 <= total:
            handle.seek(pos)
            head = handle.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", head[8:16])[0], 16
            elif size == 0:
                size = total - pos
            if size < header:
                return None
            if kind == b"moov":
                handle.seek(pos + header)
                return handle.read(size - header) if size - header < 256 << 20 else None
            pos += size
    return None


def _mp4_video_track_matrix(name: str) -> tuple[float, float] | None:
    """(a, b) of the tkhd matrix of the first video track of an mp4/mov file, or None."""
    try:
        moov = _read_moov(name)
    except (OSError, struct.error):
        return None
    if not moov:
        return None
    for kind, start, end in _iter_boxes(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        children = {k: (s, e) for k, s, e in _iter_boxes(moov, start, end)}
        if b"tkhd" not in children or not _is_video_track(moov, children.get(b"mdia")):
            continue
        s, _ = children[b"tkhd"]
        version = moov[s]
        offset = s + 4 + (32 if version == 1 else 20) + 8 + 8
        a, b = struct.unpack(">ii", moov[offset : offset + 8])
        return a / 65536.0, b / 65536.0
    return None


def _is_video_track(data: bytes, mdia: tuple[int, int] | None) -> bool:
    if mdia is None:
        return False
    for kind, start, _end in _iter_boxes(data, mdia[0], mdia[1]):
        if kind == b"hdlr":
            return data[start + 8 : start + 12] == b"vide"
    return False


@dataclass(frozen=True)
class VideoSettings:
    """How a consumer samples and pre-sizes frames.

    qwen_vl_utils (verl, lmms-eval): the keys of verl's `videos` entry (fps, min_frames, max_frames,
    min_pixels, max_pixels, total_pixels); None means qwen-vl-utils' own default. llamafactory: `video_fps`,
    `video_maxlen` (= max_frames), `video_max_pixels` / `video_min_pixels`; min_frames is unused.
    """

    fps: float = 2.0
    min_frames: int | None = 4
    max_frames: int | None = 128
    min_pixels: int | None = None
    max_pixels: int | None = None
    total_pixels: int | None = None
    consumer: Consumer = "qwen_vl_utils"

    @classmethod
    def from_video_dict(cls, entry: dict[str, Any]) -> "VideoSettings":
        """Settings from a verl parquet `videos` entry (PROTOCOL.md section 4); missing keys keep qwen-vl-utils defaults."""
        if "nframes" in entry:
            raise ConfigError("videos entries with `nframes` are not supported; use fps / min_frames / max_frames")
        return cls(
            fps=float(entry.get("fps", QVU_FPS)),
            min_frames=entry.get("min_frames"),
            max_frames=entry.get("max_frames"),
            min_pixels=entry.get("min_pixels"),
            max_pixels=entry.get("max_pixels"),
            total_pixels=entry.get("total_pixels"),
            consumer="qwen_vl_utils",
        )

    @classmethod
    def llamafactory(
        cls,
        video_fps: float = LF_VIDEO_FPS,
        video_maxlen: int = LF_VIDEO_MAXLEN,
        video_max_pixels: int = LF_VIDEO_MAX_PIXELS,
        video_min_pixels: int = LF_VIDEO_MIN_PIXELS,
    ) -> "VideoSettings":
        """Settings named as in a LLaMA-Factory training YAML."""
        return cls(
            fps=video_fps,
            min_frames=None,
            max_frames=video_maxlen,
            min_pixels=video_min_pixels,
            max_pixels=video_max_pixels,
            consumer="llamafactory",
        )


@dataclass(frozen=True)
class ProcessorConfig:
    """The model's video-processor settings that decide the grid (transformers' class defaults by family)."""

    family: Family
    patch_size: int
    merge_size: int = 2
    temporal_patch_size: int = 2
    min_pixels: int = 0
    max_pixels: int = 0
    do_resize: bool = True

    @classmethod
    def default(cls, family: Family) -> "ProcessorConfig":
        """transformers 5.5 defaults of Qwen2VLVideoProcessor (Qwen2.5-VL) / Qwen3VLVideoProcessor."""
        if family == "qwen2_5_vl":
            return cls(family, patch_size=14, min_pixels=128 * 28 * 28, max_pixels=28 * 28 * 768)
        if family == "qwen3_vl":
            return cls(family, patch_size=16, min_pixels=128 * 32 * 32, max_pixels=32 * 32 * 768)
        raise ConfigError(f"unknown model family {family!r}; expected one of {', '.join(FAMILIES)}")

    @classmethod
    def from_processor(cls, video_processor: Any, family: Family) -> "ProcessorConfig":
        """Read the settings off a live transformers video processor."""
        size = video_processor.size

        def get(key: str) -> int:
            value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
            if value is None:
                raise ConfigError(f"the video processor's size has no {key!r}")
            return int(value)

        return cls(
            family=family,
            patch_size=int(video_processor.patch_size),
            merge_size=int(video_processor.merge_size),
            temporal_patch_size=int(video_processor.temporal_patch_size),
            min_pixels=get("shortest_edge"),
            max_pixels=get("longest_edge"),
            do_resize=bool(getattr(video_processor, "do_resize", True)),
        )


@dataclass(frozen=True)
class TokenCount:
    """The frame plan and visual-token count of one video for one consumer and processor."""

    frames: int
    grid_t: int
    grid_h: int
    grid_w: int
    tokens: int
    frame_height: int = 0
    frame_width: int = 0
    frame_indices: tuple[int, ...] = ()
    timestamps: tuple[float, ...] = field(default=())

    def timestamp_texts(self) -> list[str]:
        """Qwen3-VL's per-group timestamp strings (`<1.5 seconds>`), empty for Qwen2.5-VL."""
        return [f"<{t:.1f} seconds>" for t in self.timestamps]


def count_visual_tokens(
    info: VideoInfo,
    settings: VideoSettings,
    family: Family,
    processor_config: ProcessorConfig | None = None,
    image_patch_size: int | None = None,
) -> TokenCount:
    """Exact visual tokens of `info` as the consumer of `settings` and the model's video processor compute them.

    `image_patch_size` is verl's `data.image_patch_size` (the qwen-vl-utils resize factor is twice it); None
    uses the processor's own patch size. Raises VideoError where the real pipeline would raise.
    """
    if not info.ok:
        raise VideoError(f"{info.path}: {info.status} ({info.reason})")
    config = processor_config or ProcessorConfig.default(family)
    if settings.consumer == "qwen_vl_utils":
        nframes, height, width, indices, fps = _plan_qwen_vl_utils(
            info, settings, image_patch_size or config.patch_size
        )
        frame_times = [idx / fps for idx in indices]
    elif settings.consumer == "llamafactory":
        nframes, height, width, indices, frame_times = _plan_llamafactory(info, settings)
    else:
        raise ConfigError(f"unknown consumer {settings.consumer!r}")
    resized_h, resized_w = _processor_resize(config, nframes, height, width)
    grid_t = math.ceil(nframes / config.temporal_patch_size)
    grid_h, grid_w = resized_h // config.patch_size, resized_w // config.patch_size
    tokens = grid_t * grid_h * grid_w // (config.merge_size**2)
    timestamps: tuple[float, ...] = ()
    if family == "qwen3_vl":
        timestamps = tuple(_group_timestamps(frame_times, config.temporal_patch_size))
    return TokenCount(nframes, grid_t, grid_h, grid_w, tokens, resized_h, resized_w, tuple(indices), timestamps)


def _plan_qwen_vl_utils(
    info: VideoInfo, settings: VideoSettings, image_patch_size: int
) -> tuple[int, int, int, list[int], float]:
    """qwen_vl_utils.fetch_video with the decord reader: frame count, pre-resized size, indices, reader fps."""
    total, fps = info.frames, info.fps
    min_frames = _ceil_by(settings.min_frames if settings.min_frames is not None else QVU_FPS_MIN_FRAMES, 2)
    max_frames = _floor_by(
        settings.max_frames if settings.max_frames is not None else min(QVU_FPS_MAX_FRAMES, total), QVU_FRAME_FACTOR
    )
    wanted = total / fps * settings.fps
    nframes = _floor_by(min(min(max(wanted, min_frames), max_frames), total), QVU_FRAME_FACTOR)
    if not (nframes >= QVU_FRAME_FACTOR and nframes <= total):
        raise VideoError(f"{info.path}: qwen-vl-utils cannot sample {nframes} frames from a {total}-frame video")
    indices = [int(i) for i in np.round(torch_linspace(0.0, total - 1.0, nframes))]
    # decord rotates 90/270-degree videos, so the frames it returns have swapped sides.
    height, width = (info.width, info.height) if info.rotation in (90, 270) else (info.height, info.width)
    factor = image_patch_size * QVU_SPATIAL_MERGE_SIZE
    min_pixels = settings.min_pixels if settings.min_pixels is not None else QVU_VIDEO_MIN_TOKEN_NUM * factor * factor
    seq_len = int(float(os.environ.get("MODEL_SEQ_LEN", 128000)))
    total_pixels = settings.total_pixels if settings.total_pixels is not None else seq_len * factor * factor * 0.9
    max_pixels: float = max(
        min(QVU_VIDEO_MAX_TOKEN_NUM * factor * factor, total_pixels / nframes * QVU_FRAME_FACTOR),
        int(min_pixels * 1.05),
    )
    if settings.max_pixels is not None:
        max_pixels = min(settings.max_pixels, max_pixels)
    resized_h, resized_w = qvu_smart_resize(height, width, factor, min_pixels, max_pixels)
    return nframes, resized_h, resized_w, indices, fps


def _plan_llamafactory(info: VideoInfo, settings: VideoSettings) -> tuple[int, int, int, list[int], list[float]]:
    """LLaMA-Factory's Qwen2VLPlugin._regularize_videos: frame count, PIL-resized size, indices, frame times."""
    maxlen = int(settings.max_frames if settings.max_frames is not None else LF_VIDEO_MAXLEN)
    if info.stream_frames == 0:
        # LLaMA-Factory's "infinite video" branch: indices 0..maxlen-1, of which only decodable ones survive.
        indices = list(range(min(maxlen, info.frames)))
    else:
        if info.stream_duration is None:
            raise VideoError(f"{info.path}: no stream duration; LLaMA-Factory cannot sample this video")
        sample = max(1, math.floor(float(info.stream_duration) * settings.fps))
        sample = min(info.stream_frames, maxlen, sample)
        indices = [int(i) for i in np.linspace(0, info.stream_frames - 1, sample).astype(np.int32)]
    nframes = len(indices) + (len(indices) % 2)
    width, height = _lf_regularize_size(
        info.width,
        info.height,
        settings.max_pixels if settings.max_pixels is not None else LF_VIDEO_MAX_PIXELS,
        settings.min_pixels if settings.min_pixels is not None else LF_VIDEO_MIN_PIXELS,
    )
    average = float(info.average_rate) if info.average_rate else info.fps
    # Qwen3-VL timestamps: LLaMA-Factory passes idx / average_fps * video_fps with fps = video_fps.
    frame_times = [(idx / average * settings.fps) / settings.fps for idx in indices]
    return nframes, height, width, indices, frame_times


def _lf_regularize_size(width: int, height: int, max_pixels: int, min_pixels: int) -> tuple[int, int]:
    """LLaMA-Factory's Qwen2VLPlugin._preprocess_image size arithmetic (PIL resize to truncated ints)."""
    if width * height > max_pixels:
        factor = math.sqrt(max_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    if width * height < min_pixels:
        factor = math.sqrt(min_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    if min(width, height) < 28:
        width, height = max(width, 28), max(height, 28)
    if width / height > 200:
        width, height = height * 180, height
    if height / width > 200:
        width, height = width, width * 180
    return width, height


def _processor_resize(config: ProcessorConfig, nframes: int, height: int, width: int) -> tuple[int, int]:
    if not config.do_resize:
        return height, width
    factor = config.patch_size * config.merge_size
    if config.family == "qwen3_vl":
        return hf_smart_resize_qwen3(
            nframes, height, width, config.temporal_patch_size, factor, config.min_pixels, config.max_pixels
        )
    return hf_smart_resize(height, width, factor, config.min_pixels, config.max_pixels)


def _group_timestamps(frame_times: list[float], merge: int) -> list[float]:
    """Qwen3VLProcessor._calculate_timestamps: pad to a multiple of `merge`, then average each group's ends."""
    times = list(frame_times)
    if len(times) % merge:
        times.extend(times[-1] for _ in range(merge - len(times) % merge))
    return [(times[i] + times[i + merge - 1]) / 2 for i in range(0, len(times), merge)]


def torch_linspace(start: float, end: float, steps: int) -> np.ndarray:
    """torch.linspace(start, end, steps) in float32 (ATen's two-sided formula) without torch; rounds to the same indices."""
    if steps <= 0:
        return np.zeros(0, dtype=np.float32)
    if steps == 1:
        return np.array([start], dtype=np.float32)
    s, e = np.float32(start), np.float32(end)
    step = np.float32((e - s) / np.float32(steps - 1))
    idx = np.arange(steps)
    half = steps // 2
    out = np.empty(steps, dtype=np.float32)
    out[:half] = s + step * idx[:half].astype(np.float32)
    out[half:] = e - step * (steps - idx[half:] - 1).astype(np.float32)
    return out


def _ceil_by(number: float, factor: int) -> int:
    return math.ceil(number / factor) * factor


def _floor_by(number: float, factor: int) -> int:
    return math.floor(number / factor) * factor


def qvu_smart_resize(height: int, width: int, factor: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """qwen_vl_utils.smart_resize (note `max(factor, round(...))`, unlike transformers')."""
    if max(height, width) / min(height, width) > QVU_MAX_RATIO:
        raise VideoError(f"aspect ratio of {width}x{height} exceeds {QVU_MAX_RATIO}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def hf_smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """transformers' Qwen2-VL smart_resize (image_processing_qwen2_vl.py), used by Qwen2VLVideoProcessor."""
    if max(height, width) / min(height, width) > 200:
        raise VideoError(f"aspect ratio of {width}x{height} exceeds 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def hf_smart_resize_qwen3(
    num_frames: int, height: int, width: int, temporal_factor: int, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """transformers' Qwen3-VL video smart_resize: the pixel limits bound all frames together, not one frame."""
    if height < factor or width < factor:
        raise VideoError(f"frame {width}x{height} is smaller than the Qwen3-VL resize factor {factor}")
    if max(height, width) / min(height, width) > 200:
        raise VideoError(f"aspect ratio of {width}x{height} exceeds 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = math.ceil(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar
