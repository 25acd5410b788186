"""Fixtures generated at test time: PyAV videos (good and broken), tiny Qwen-VL checkpoints, a multiple-choice
corpus over the clips, free ports."""

import json
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from videokr.data.synth import write_audio_only, write_video

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class VideoSpec:
    """Parameters of one generated clip."""

    name: str
    width: int
    height: int
    fps: float
    seconds: float
    gop: int


# Several sizes, frame rates, durations and keyframe intervals; odd sizes exercise the resize rounding.
VIDEO_SPECS = (
    VideoSpec("square_8fps", 64, 64, 8.0, 2.0, 12),
    VideoSpec("wide_25fps", 160, 90, 25.0, 1.6, 25),
    VideoSpec("tall_ntsc", 90, 160, 29.97, 1.2, 30),
    VideoSpec("odd_12fps", 112, 84, 12.0, 3.0, 6),
    VideoSpec("long_4fps", 96, 64, 4.0, 9.0, 40),
    VideoSpec("hd_30fps", 320, 180, 30.0, 0.8, 15),
)


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of good clips named `<spec.name>.mp4` and broken files next to them."""
    root = tmp_path_factory.mktemp("videos")
    for spec in VIDEO_SPECS:
        write_video(
            root / f"{spec.name}.mp4",
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            seconds=spec.seconds,
            gop=spec.gop,
        )
    good = (root / "square_8fps.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (root / "zero_bytes.mp4").write_bytes(b"")
    (root / "not_a_video.mp4").write_text("this is plain text, not an mp4 container\n" * 20)
    write_audio_only(root / "audio_only.mp4")
    return root


@pytest.fixture(scope="session")
def good_videos(video_dir: Path) -> dict[str, Path]:
    """name -> path of every good generated clip."""
    return {spec.name: video_dir / f"{spec.name}.mp4" for spec in VIDEO_SPECS}


BROKEN_VIDEOS = ("truncated", "zero_bytes", "not_a_video", "audio_only")


@pytest.fixture(scope="session")
def broken_videos(video_dir: Path) -> dict[str, Path]:
    """name -> path of every broken file."""
    return {name: video_dir / f"{name}.mp4" for name in BROKEN_VIDEOS}


# ---- tiny Qwen-VL checkpoints (videokr.tiny; issue 3) --------------------------------------------------------
# Built once per session into temp dirs and shared: treat them as read-only (copy one before writing into it).

TinyModels = Callable[..., Path]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """A callable `(family, size="small", seed=0) -> Path` returning a tiny checkpoint dir, built on first use."""
    built: dict[tuple[str, str, int], Path] = {}

    def get(family: str, size: str = "small", seed: int = 0) -> Path:
        key = (family, size, seed)
        if key not in built:
            from videokr.tiny import build_tiny_model

            out = tmp_path_factory.mktemp(f"tiny-{family}-{size}-{seed}")
            built[key] = build_tiny_model(out, family, size, seed)  # type: ignore[arg-type]
        return built[key]

    return get


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl(tiny_models: TinyModels) -> Path:
    """A small tiny Qwen2.5-VL checkpoint directory (seed 0)."""
    return tiny_models("qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_qwen3_vl(tiny_models: TinyModels) -> Path:
    """A small tiny Qwen3-VL checkpoint directory (seed 0)."""
    return tiny_models("qwen3_vl")


# ---- end of tiny Qwen-VL checkpoints ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Call it for a TCP port on 127.0.0.1 that nothing listens on now."""
    return _free_port


@pytest.fixture(scope="session")
def write_mc_corpus(good_videos: dict[str, Path]) -> Callable[[Path, list[str]], Path]:
    """Call it with (root, clip names): a VideoKR-style jsonl of multiple-choice rows, one per clip, at root/rows.jsonl,
    the clips copied into root/Videos/videos_0001/ like the published Videos/ tree (root/Videos is the video root).
    """

    def write(root: Path, clips: list[str]) -> Path:
        folder = root / "Videos" / "videos_0001"
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for i, name in enumerate(clips):
            shutil.copy(good_videos[name], folder / f"{name}.mp4")
            rows.append(
                {
                    "problem_id": f"p{i}",
                    "problem_type": "multiple choice",
                    "question": "What colour is the moving square?",
                    "options": ["A. orange", "B. blue", "C. green", "D. grey"],
                    "solution": "A",
                    "video_path": f"videos_0001/{name}.mp4",
                }
            )
        src = root / "rows.jsonl"
        src.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return src

    return write
