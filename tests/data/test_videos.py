"""probe_video classification and the Qwen-VL resize / sampling arithmetic against the libraries' own functions."""

from pathlib import Path

import av
import numpy as np
import pytest

from videokr.data.synth import solid_painter
from videokr.data.videos import (
    ProcessorConfig,
    VideoInfo,
    VideoSettings,
    count_visual_tokens,
    hf_smart_resize,
    hf_smart_resize_qwen3,
    probe_video,
    qvu_smart_resize,
    torch_linspace,
)
from videokr.errors import VideoError


@pytest.mark.parametrize(
    "name, status",
    [
        pytest.param("truncated", "unreadable", id="truncated"),
        pytest.param("zero_bytes", "unreadable", id="zero_bytes"),
        pytest.param("not_a_video", "unreadable", id="not_a_video"),
        pytest.param("audio_only", "no_video_stream", id="audio_only"),
    ],
)
def test_probe_video_classifies_broken_files(broken_videos: dict[str, Path], name: str, status: str) -> None:
    info = probe_video(broken_videos[name])
    assert info.status == status
    assert info.reason


def test_probe_video_missing_file(tmp_path: Path) -> None:
    info = probe_video(tmp_path / "nope.mp4")
    assert (info.status, info.ok) == ("missing", False)


def test_probe_video_reads_what_decord_reads(good_videos: dict[str, Path]) -> None:
    import decord

    for name, path in good_videos.items():
        info = probe_video(path)
        reader = decord.VideoReader(str(path))
        assert info.ok, name
        assert info.frames == len(reader), name
        assert info.fps == pytest.approx(reader.get_avg_fps()), name
        assert (info.height, info.width) == reader[0].shape[:2], name
        assert info.duration == pytest.approx(info.frames / info.fps, rel=0.05), name


def test_probe_video_counts_packets_when_header_has_no_frame_count(tmp_path: Path) -> None:
    import decord

    path = tmp_path / "clip.mkv"
    paint = solid_painter(96, 64)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index in range(23):
            for packet in stream.encode(av.VideoFrame.from_ndarray(paint(index), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    info = probe_video(path)
    assert info.stream_frames == 0
    assert info.frames == len(decord.VideoReader(str(path))) == 23


def test_torch_linspace_rounds_to_the_same_indices_as_torch() -> None:
    import torch

    for total in range(2, 2000, 13):
        for steps in range(2, min(total, 200) + 1, 2):
            ours = np.round(torch_linspace(0.0, total - 1.0, steps)).astype(int)
            theirs = torch.linspace(0, total - 1, steps).round().long().numpy()
            assert np.array_equal(ours, theirs), (total, steps)


def test_resize_functions_equal_the_library_functions() -> None:
    from qwen_vl_utils import vision_process
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf2
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize as hf3

    rng = np.random.default_rng(0)
    for _ in range(400):
        h, w = (int(x) for x in rng.integers(32, 2000, size=2))
        lo = int(rng.integers(1, 300)) * 28 * 28
        hi = lo + int(rng.integers(0, 2000)) * 28 * 28
        assert qvu_smart_resize(h, w, 28, lo, hi) == vision_process.smart_resize(h, w, 28, lo, hi)
        assert hf_smart_resize(h, w, 28, lo, hi) == hf2(h, w, 28, lo, hi)
        t = int(rng.integers(1, 130))
        assert hf_smart_resize_qwen3(t, h, w, 2, 32, lo, hi * 20) == hf3(t, h, w, 2, 32, lo, hi * 20)


@pytest.mark.parametrize(
    "family, cls_path",
    [
        pytest.param("qwen2_5_vl", "qwen2_vl.video_processing_qwen2_vl.Qwen2VLVideoProcessor", id="qwen2_5_vl"),
        pytest.param("qwen3_vl", "qwen3_vl.video_processing_qwen3_vl.Qwen3VLVideoProcessor", id="qwen3_vl"),
    ],
)
def test_default_processor_config_equals_transformers_defaults(family: str, cls_path: str) -> None:
    import importlib

    module, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(f"transformers.models.{module}"), name)
    assert ProcessorConfig.default(family) == ProcessorConfig.from_processor(cls(), family)  # type: ignore[arg-type]


def test_second_resize_by_default_qwen2_processor_matches_protocol_example() -> None:
    # PROTOCOL.md section 8: a 640x360 clip that qwen-vl-utils sizes to 224x420 becomes 252x448.
    info = VideoInfo("x.mp4", "ok", fps=30.0, frames=300, duration=10.0, width=640, height=360)
    settings = VideoSettings(fps=2.0, min_frames=4, max_frames=128, max_pixels=100352)
    count = count_visual_tokens(info, settings, "qwen2_5_vl")
    assert (count.frame_height, count.frame_width) == (252, 448)
    assert (count.frames, count.grid_t, count.grid_h, count.grid_w) == (20, 10, 18, 32)
    assert count.tokens == 10 * 18 * 32 // 4


def test_count_refuses_a_video_that_is_not_ok() -> None:
    with pytest.raises(VideoError, match="missing"):
        count_visual_tokens(VideoInfo("gone.mp4", "missing", "no such file"), VideoSettings(), "qwen3_vl")


def test_qwen3_with_verl_default_patch_14_can_fail_where_the_real_processor_fails() -> None:
    # verl's image_patch_size 14 makes qwen-vl-utils size frames to multiples of 28; a 28-pixel side is below
    # Qwen3-VL's resize factor 32, and transformers raises: the count raises too (verl then drops the row).
    info = VideoInfo("x.mp4", "ok", fps=8.0, frames=16, duration=2.0, width=800, height=20)
    settings = VideoSettings(min_pixels=28 * 28, max_pixels=28 * 28 * 32)
    with pytest.raises(VideoError, match="factor"):
        count_visual_tokens(info, settings, "qwen3_vl", image_patch_size=14)
