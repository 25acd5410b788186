"""The metadata-only visual-token count equals what the real decoders and HF video processors produce.

Each generated clip is decoded through qwen_vl_utils.fetch_video (decord reader, as verl and lmms-eval do) and
through LLaMA-Factory's own Qwen2VL / Qwen3VL video plugin, the frames go through real Qwen2VLVideoProcessor /
Qwen3VLVideoProcessor instances, and the resulting grid_thw (and Qwen3-VL timestamps) must equal
`count_visual_tokens` computed from `probe_video` alone. Widths of 48 and 72 pixels are avoided on purpose:
decord 0.6 cannot decode them (PROTOCOL.md section 8). The prompt counts of `PromptBudget.from_model` (the
checkpoint's files read without transformers) equal those through transformers' AutoProcessor for both families
and the file layouts transformers reads.
"""

import copy
import json
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from videokr.data.budget import PromptBudget, build_verl_messages
from videokr.data.synth import write_video
from videokr.data.videos import (
    ProcessorConfig,
    TokenCount,
    VideoSettings,
    count_visual_tokens,
    probe_video,
)
from videokr.prompts import INSTR, MC_TAIL

pytestmark = pytest.mark.integration

# name, width, height, fps, seconds
CLIPS = (
    ("sq64_8fps_2s", 64, 64, 8.0, 2.0),
    ("wide160x90_25fps", 160, 90, 25.0, 1.6),
    ("tall90x160_ntsc", 90, 160, 29.97, 1.2),
    ("odd112x84_12fps_3s", 112, 84, 12.0, 3.0),
    ("odd250x130_30fps", 250, 130, 30.0, 1.0),
    ("hd320x180_30fps", 320, 180, 30.0, 0.8),
    ("long96x64_4fps_9s", 96, 64, 4.0, 9.0),
    ("slow128x96_1fps_12s", 128, 96, 1.0, 12.0),
    ("thin200x56_10fps", 200, 56, 10.0, 4.5),
    ("fast176x144_60fps", 176, 144, 60.0, 0.7),
)

# id, verl `videos` entry (qwen-vl-utils keys)
QVU_SETTINGS = (
    ("published", {"fps": 2.0, "min_frames": 4, "max_frames": 128, "min_pixels": 100352, "max_pixels": 100352}),
    ("small_pixels", {"fps": 3.0, "min_frames": 2, "max_frames": 8, "min_pixels": 3136, "max_pixels": 12544}),
    ("defaults", {"fps": 1.0}),
)

# id, LLaMA-Factory processor attributes
LF_SETTINGS = (
    ("published", {"video_fps": 2.0, "video_maxlen": 128, "video_max_pixels": 100352, "video_min_pixels": 256}),
    ("few_frames", {"video_fps": 4.0, "video_maxlen": 5, "video_max_pixels": 9000, "video_min_pixels": 4000}),
)

# id, family, video-processor kwargs (None = transformers defaults)
PROCESSORS = (
    ("qwen25_default", "qwen2_5_vl", None),
    ("qwen25_small", "qwen2_5_vl", {"min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28}),
    ("qwen3_default", "qwen3_vl", None),
    ("qwen3_tight", "qwen3_vl", {"size": {"shortest_edge": 8 * 32 * 32, "longest_edge": 40 * 32 * 32}}),
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("token_clips")
    out = {}
    for name, width, height, fps, seconds in CLIPS:
        out[name] = write_video(root / f"{name}.mp4", width=width, height=height, fps=fps, seconds=seconds, gop=10)
    return out


def make_video_processor(family: str, kwargs: dict[str, Any] | None) -> Any:
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    cls = Qwen2VLVideoProcessor if family == "qwen2_5_vl" else Qwen3VLVideoProcessor
    return cls(**(kwargs or {}))


def qwen3_timestamps(indices: list[int] | list[float], fps: float) -> list[float]:
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor

    return Qwen3VLProcessor._calculate_timestamps(None, list(indices), fps, 2)  # type: ignore[arg-type]


def assert_same(ours: TokenCount, grid: list[int], label: str) -> None:
    assert [ours.grid_t, ours.grid_h, ours.grid_w] == grid, label
    t, h, w = grid
    assert ours.tokens == t * h * w // 4, label


@pytest.mark.parametrize("proc_id, family, proc_kwargs", [pytest.param(*p, id=p[0]) for p in PROCESSORS])
@pytest.mark.parametrize("settings_id, entry", [pytest.param(*s, id=s[0]) for s in QVU_SETTINGS])
def test_count_matches_qwen_vl_utils_and_hf_processor(
    clips: dict[str, Path],
    proc_id: str,
    family: str,
    proc_kwargs: dict[str, Any] | None,
    settings_id: str,
    entry: dict,
) -> None:
    from qwen_vl_utils import fetch_video

    assert os.environ.get("FORCE_QWENVL_VIDEO_READER") == "decord"
    processor = make_video_processor(family, proc_kwargs)
    config = ProcessorConfig.from_processor(processor, family)  # type: ignore[arg-type]
    settings = VideoSettings.from_video_dict(entry)
    for name, path in clips.items():
        video, metadata = fetch_video(
            {"video": str(path), **entry}, image_patch_size=config.patch_size, return_video_metadata=True
        )
        out = processor(videos=[video], video_metadata=[metadata], do_sample_frames=False, return_tensors="pt")
        grid = out["video_grid_thw"][0].tolist()
        ours = count_visual_tokens(probe_video(path), settings, family, config)  # type: ignore[arg-type]
        label = f"{name} {settings_id} {proc_id}"
        assert ours.frames == video.shape[0], label
        assert (ours.frame_height, ours.frame_width) != (0, 0)
        assert list(ours.frame_indices) == list(metadata["frames_indices"]), label
        assert_same(ours, grid, label)
        if family == "qwen3_vl":
            expected = qwen3_timestamps(metadata["frames_indices"], metadata["fps"])
            assert ours.timestamp_texts() == [f"<{t:.1f} seconds>" for t in expected], label
        else:
            assert ours.timestamps == ()


@pytest.mark.parametrize("proc_id, family, proc_kwargs", [pytest.param(*p, id=p[0]) for p in PROCESSORS])
@pytest.mark.parametrize("settings_id, attrs", [pytest.param(*s, id=s[0]) for s in LF_SETTINGS])
def test_count_matches_llamafactory_plugin_and_hf_processor(
    clips: dict[str, Path],
    proc_id: str,
    family: str,
    proc_kwargs: dict[str, Any] | None,
    settings_id: str,
    attrs: dict,
) -> None:
    from llamafactory.data.mm_plugin import get_mm_plugin

    video_processor = make_video_processor(family, proc_kwargs)
    processor = SimpleNamespace(
        image_processor=video_processor, video_processor=video_processor, model_input_names=[], **attrs
    )
    plugin = get_mm_plugin("qwen2_vl" if family == "qwen2_5_vl" else "qwen3_vl", video_token="<|video_pad|>")
    config = ProcessorConfig.from_processor(video_processor, family)  # type: ignore[arg-type]
    settings = VideoSettings.llamafactory(**attrs)
    for name, path in clips.items():
        inputs = plugin._get_mm_inputs([], [str(path)], [], processor)
        grid = inputs["video_grid_thw"][0].tolist()
        ours = count_visual_tokens(probe_video(path), settings, family, config)  # type: ignore[arg-type]
        label = f"{name} {settings_id} {proc_id}"
        assert_same(ours, grid, label)
        regular = plugin._regularize_videos(
            [str(path)],
            image_max_pixels=attrs["video_max_pixels"],
            image_min_pixels=attrs["video_min_pixels"],
            video_fps=attrs["video_fps"],
            video_maxlen=attrs["video_maxlen"],
        )
        assert ours.frames == len(regular["videos"][0]), label
        if family == "qwen3_vl":
            expected = qwen3_timestamps(regular["frames_indices"][0], attrs["video_fps"])
            assert ours.timestamp_texts() == [f"<{t:.1f} seconds>" for t in expected], label


def set_display_rotation(path: Path, degrees: int) -> None:
    """Rewrite the video track's tkhd matrix in place (what a phone's rotation flag is), keeping the file valid."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    offset = at + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one = 0x10000
    a, b, c, d = {90: (0, one, -one, 0), 180: (-one, 0, 0, -one), 270: (0, -one, one, 0)}[degrees]
    data[offset : offset + 20] = struct.pack(">iiiii", a, b, 0, c, d)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("degrees", [pytest.param(d, id=f"rot{d}") for d in (90, 180, 270)])
def test_rotated_clip_count_follows_decord_orientation(tmp_path: Path, degrees: int) -> None:
    import decord
    from qwen_vl_utils import fetch_video

    path = write_video(tmp_path / "rot.mp4", width=160, height=96, fps=8.0, seconds=2.0)
    set_display_rotation(path, degrees)
    info = probe_video(path)
    assert info.rotation == degrees
    frame = decord.VideoReader(str(path))[0].asnumpy()
    swapped = degrees in (90, 270)
    assert frame.shape[:2] == ((160, 96) if swapped else (96, 160))
    entry = {"fps": 2.0, "min_frames": 4, "max_frames": 16, "min_pixels": 3136, "max_pixels": 50176}
    processor = make_video_processor("qwen2_5_vl", {"min_pixels": 3136, "max_pixels": 50176})
    video, metadata = fetch_video({"video": str(path), **entry}, image_patch_size=14, return_video_metadata=True)
    grid = processor(videos=[video], video_metadata=[metadata], do_sample_frames=False)["video_grid_thw"][0].tolist()
    config = ProcessorConfig.from_processor(processor, "qwen2_5_vl")
    assert_same(count_visual_tokens(info, VideoSettings.from_video_dict(entry), "qwen2_5_vl", config), grid, "rot")


@dataclass(frozen=True)
class Layout:
    """How a copy of the tiny checkpoint differs from what build_tiny_model saves."""

    split: bool = False  # processor settings in pre-v5 files (video_)preprocessor_config.json, not nested
    video: dict[str, Any] = field(default_factory=dict)  # keys set in the video processor's settings
    tokenizer: dict[str, Any] = field(default_factory=dict)  # keys set in tokenizer_config.json
    template_json: bool = False  # the chat template in the legacy chat_template.json


# id, family, layout
LAYOUTS = (
    ("qwen25_saved", "qwen2_5_vl", Layout()),
    ("qwen25_legacy_min_max", "qwen2_5_vl", Layout(True, {"min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28})),
    (
        "qwen25_size_template_json",
        "qwen2_5_vl",
        Layout(video={"size": {"shortest_edge": 6272, "longest_edge": 25088}}, template_json=True),
    ),
    ("qwen25_add_bos_ignored", "qwen2_5_vl", Layout(tokenizer={"add_bos_token": True, "bos_token": "<|im_start|>"})),
    ("qwen3_saved", "qwen3_vl", Layout()),
    (
        "qwen3_new_special_tokens",  # special tokens tokenizer.json lacks, one as a serialised AddedToken
        "qwen3_vl",
        Layout(tokenizer={"mask_token": "<flame>", "sep_token": {"__type": "AddedToken", "content": "</flame>"}}),
    ),
    (
        "qwen3_video_file",
        "qwen3_vl",
        Layout(True, {"size": {"shortest_edge": 8 * 32 * 32, "longest_edge": 40 * 32 * 32}}),
    ),
    (
        "qwen3_named_tokens",
        "qwen3_vl",
        Layout(
            tokenizer={
                "extra_special_tokens": {
                    "video_token": "<|video_pad|>",
                    "vision_start_token": "<|vision_start|>",
                    "vision_end_token": "<|vision_end|>",
                }
            }
        ),
    ),
)

SYSTEM = {"role": "system", "content": "Réponds brièvement — 日本語も可。\t  Spaces   and\n\nnewlines."}
PROMPTS = (
    [
        {
            "role": "user",
            "content": "<video>\nWhat colour is the flame?\nOptions:\nA. red\nB. green\n" + INSTR + MC_TAIL,
        }
    ],
    [
        SYSTEM,
        {
            "role": "user",
            "content": "Before <video> after: <think>naïve <flame>café</flame></think> 🎉 <|im_end|> 12345",
        },
    ],
)


def write_layout(model: Path, out: Path, layout: Layout) -> Path:
    """A copy of `model` rewritten to `layout`."""
    shutil.copytree(model, out)
    nested = json.loads((out / "processor_config.json").read_text())
    nested["video_processor"].update(layout.video)
    if layout.split:
        image, video = nested.pop("image_processor"), nested.pop("video_processor")
        if nested["processor_class"] == "Qwen2_5_VLProcessor":  # Qwen2.5-VL checkpoints keep one file for both
            image = {**image, **layout.video}
        else:
            (out / "video_preprocessor_config.json").write_text(json.dumps(video))
        (out / "preprocessor_config.json").write_text(json.dumps(image))
    (out / "processor_config.json").write_text(json.dumps(nested))
    tokenizer = json.loads((out / "tokenizer_config.json").read_text())
    (out / "tokenizer_config.json").write_text(json.dumps({**tokenizer, **layout.tokenizer}))
    if layout.template_json:
        template = (out / "chat_template.jinja").read_text()
        (out / "chat_template.jinja").unlink()
        (out / "chat_template.json").write_text(json.dumps({"chat_template": template}))
    return out


@pytest.mark.parametrize("layout_id, family, layout", [pytest.param(*x, id=x[0]) for x in LAYOUTS])
def test_light_loader_counts_equal_transformers_processor(
    clips: dict[str, Path], tiny_models: Any, tmp_path: Path, layout_id: str, family: str, layout: Layout
) -> None:
    model = write_layout(tiny_models(family), tmp_path / layout_id, layout)
    light, real = PromptBudget.from_model(model), PromptBudget.from_transformers(model)
    assert light.config == real.config
    assert light.image_patch_size == real.image_patch_size
    assert (light.video_token, light.vision_start, light.vision_end) == (
        real.video_token,
        real.vision_start,
        real.vision_end,
    )
    for messages in PROMPTS:
        chat = build_verl_messages(messages, [{"video": "/v.mp4", "fps": 2.0}])
        text = real.processor.apply_chat_template(copy.deepcopy(chat), add_generation_prompt=True, tokenize=False)
        assert light.processor.apply_chat_template(copy.deepcopy(chat), add_generation_prompt=True) == text
        assert light.tokenizer(text)["input_ids"] == real.tokenizer(text)["input_ids"]
        for name, path in clips.items():
            info = probe_video(path)
            for settings_id, entry in QVU_SETTINGS:
                label = f"{name} {settings_id}"
                assert light.count(messages, info, entry) == real.count(messages, info, entry), label
