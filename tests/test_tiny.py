"""Unit tests of videokr.tiny: checkpoint files, tokenizer, chat template, config ids, frame reader (CLI: tests/cli)."""

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from videokr.errors import DataError, VideoError
from videokr.prompts import INSTR, MC_TAIL, OE_TAIL
from videokr.tiny import FAMILIES, build_tiny_model, count_parameters, detect_family, read_frames, sample_indices

CHECKPOINT_FILES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
}


def _tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


def _processor(model_dir: Path) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(model_dir)


def _config(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "config.json").read_text())


@pytest.mark.parametrize("family", FAMILIES)
def test_build_writes_complete_checkpoint_of_expected_size(tiny_models: Any, family: str) -> None:
    model_dir = tiny_models(family)
    assert {p.name for p in model_dir.iterdir()} >= CHECKPOINT_FILES
    assert 200_000 <= count_parameters(model_dir) <= 350_000
    assert sum(p.stat().st_size for p in model_dir.iterdir()) < 2_000_000
    assert detect_family(model_dir) == family


@pytest.mark.parametrize("family", FAMILIES)
def test_demo_size_is_larger_but_stays_a_few_megabytes(tiny_models: Any, family: str) -> None:
    model_dir = tiny_models(family, "demo")
    config = _config(model_dir)
    assert config["text_config"]["hidden_size"] >= 128
    assert config["text_config"]["intermediate_size"] == 4 * config["text_config"]["hidden_size"]
    assert 2 <= config["text_config"]["num_hidden_layers"] <= 4
    head_dim = config["text_config"]["hidden_size"] // config["text_config"]["num_attention_heads"]
    assert sum(config["text_config"]["rope_parameters"]["mrope_section"]) == head_dim // 2
    assert 800_000 <= count_parameters(model_dir) <= 2_000_000
    assert sum(p.stat().st_size for p in model_dir.iterdir()) < 6_000_000


def test_build_is_fast_once_imports_are_warm(tiny_qwen2_5_vl: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    build_tiny_model(tmp_path / "again", "qwen3_vl", "small", seed=3)
    assert time.perf_counter() - started < 15.0


def test_build_is_deterministic_given_seed(tiny_qwen3_vl: Path, tmp_path: Path) -> None:
    same = build_tiny_model(tmp_path / "same", "qwen3_vl", "small", seed=0)
    other = build_tiny_model(tmp_path / "other", "qwen3_vl", "small", seed=1)
    for name in CHECKPOINT_FILES:
        assert (same / name).read_bytes() == (tiny_qwen3_vl / name).read_bytes(), name
    assert (other / "tokenizer.json").read_bytes() == (same / "tokenizer.json").read_bytes()
    assert (other / "model.safetensors").read_bytes() != (same / "model.safetensors").read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"family": "llava"}, "unknown model family", id="unknown-family"),
        pytest.param({"family": "qwen3_vl", "size": "huge"}, "unknown tiny size", id="unknown-size"),
    ],
)
def test_build_rejects_unknown_family_or_size(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        build_tiny_model(tmp_path / "m", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "m").exists()


def test_build_refuses_non_empty_dir_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(DataError, match="not empty"):
        build_tiny_model(out, "qwen2_5_vl")
    assert (out / "keep.txt").read_text() == "user data"
    build_tiny_model(out, "qwen2_5_vl", overwrite=True)
    assert not (out / "keep.txt").exists()
    assert detect_family(out) == "qwen2_5_vl"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging or old dir left behind


ROUND_TRIP_TEXTS = [
    pytest.param(INSTR, id="instr"),
    pytest.param(MC_TAIL, id="mc-tail"),
    pytest.param(OE_TAIL, id="oe-tail"),
    pytest.param("<video>\nWhat is shown?\nOptions:\nA. red\nB. blue\n" + INSTR + MC_TAIL, id="rl-prompt"),
    pytest.param("<think>The flame is yellow.</think>\n<answer>B</answer>", id="target"),
    pytest.param("<12.5 seconds> 0123456789 A B C D E F G H I J", id="timestamps-digits-letters"),
    pytest.param("Ångström, naïve café, 世界, 🔥, tab\there, nul\x00byte, \r\n", id="unicode-control-bytes"),
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_tokenizer_round_trips_text_without_unknowns(tiny_models: Any, family: str, text: str) -> None:
    tokenizer = _tokenizer(tiny_models(family))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id is None
    assert all(0 <= i < len(tokenizer) for i in ids)
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("family", FAMILIES)
def test_tokenizer_encodes_prompt_strings_compactly(tiny_models: Any, family: str) -> None:
    tokenizer = _tokenizer(tiny_models(family))
    for text in (INSTR, MC_TAIL, OE_TAIL):
        assert len(tokenizer(text)["input_ids"]) * 3 <= len(text), text  # BPE learned the prompts: >= 3 chars/token


@pytest.mark.parametrize("family", FAMILIES)
def test_answer_tag_tokenises_like_qwen(tiny_models: Any, family: str) -> None:
    tokenizer = _tokenizer(tiny_models(family))
    assert tokenizer.tokenize("<answer>B") == ["<answer", ">B"]
    assert tokenizer.tokenize("</answer>") == ["</", "answer", ">"]


@pytest.mark.parametrize(
    ("family", "think_is_one_token"),
    [pytest.param("qwen2_5_vl", False, id="qwen2_5_vl"), pytest.param("qwen3_vl", True, id="qwen3_vl")],
)
def test_think_tag_is_an_added_token_only_in_qwen3(tiny_models: Any, family: str, think_is_one_token: bool) -> None:
    tokenizer = _tokenizer(tiny_models(family))
    assert (tokenizer.tokenize("<think>") == ["<think>"]) is think_is_one_token


@pytest.mark.parametrize("family", FAMILIES)
def test_special_token_ids_match_config(tiny_models: Any, family: str) -> None:
    model_dir = tiny_models(family)
    tokenizer = _tokenizer(model_dir)
    config = _config(model_dir)
    generation = json.loads((model_dir / "generation_config.json").read_text())
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    assert ids["<|im_start|>"] == ids["<|endoftext|>"] + 1 == ids["<|im_end|>"] - 1  # Qwen's order
    assert config["image_token_id"] == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert config["video_token_id"] == tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert config["vision_start_token_id"] == tokenizer.convert_tokens_to_ids("<|vision_start|>")
    assert config["vision_end_token_id"] == tokenizer.convert_tokens_to_ids("<|vision_end|>")
    assert len({config["image_token_id"], config["video_token_id"], config["vision_start_token_id"]}) == 3
    assert config["text_config"]["eos_token_id"] == tokenizer.eos_token_id == ids["<|im_end|>"]
    assert config["text_config"]["pad_token_id"] == tokenizer.pad_token_id == ids["<|endoftext|>"]
    assert config["text_config"]["vocab_size"] == len(tokenizer)
    assert ids["<|im_end|>"] in generation["eos_token_id"]


@pytest.mark.parametrize(
    ("family", "head_dim", "interleaved"),
    [pytest.param("qwen2_5_vl", 16, False, id="qwen2_5_vl"), pytest.param("qwen3_vl", 16, True, id="qwen3_vl")],
)
def test_rope_sections_fit_head_dim(tiny_models: Any, family: str, head_dim: int, interleaved: bool) -> None:
    text = _config(tiny_models(family))["text_config"]
    assert text["hidden_size"] // text["num_attention_heads"] == head_dim
    assert sum(text["rope_parameters"]["mrope_section"]) == head_dim // 2
    assert text["rope_parameters"].get("mrope_interleaved", False) is interleaved
    if family == "qwen3_vl":
        assert text["head_dim"] == head_dim
        vision = _config(tiny_models(family))["vision_config"]
        assert all(0 <= i < vision["depth"] for i in vision["deepstack_visual_indexes"])
        assert int(vision["num_position_embeddings"] ** 0.5) ** 2 == vision["num_position_embeddings"]


VIDEO_TURN = [{"type": "video", "video": "clip.mp4"}, {"type": "text", "text": "What colour?"}]
TEMPLATE_CASES = [
    pytest.param(
        "qwen2_5_vl",
        [{"role": "user", "content": VIDEO_TURN}],
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>What colour?<|im_end|>\n"
        "<|im_start|>assistant\n",
        id="qwen2_5_vl-video-default-system",
    ),
    pytest.param(
        "qwen3_vl",
        [{"role": "user", "content": VIDEO_TURN}],
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>What colour?<|im_end|>\n<|im_start|>assistant\n",
        id="qwen3_vl-video-no-system",
    ),
    pytest.param(
        "qwen2_5_vl",
        [{"role": "system", "content": "S"}, {"role": "user", "content": "plain"}],
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nplain<|im_end|>\n<|im_start|>assistant\n",
        id="qwen2_5_vl-string-content",
    ),
    pytest.param(
        "qwen3_vl",
        [{"role": "system", "content": "S"}, {"role": "user", "content": "plain"}],
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nplain<|im_end|>\n<|im_start|>assistant\n",
        id="qwen3_vl-string-content",
    ),
]


@pytest.mark.parametrize(("family", "messages", "expected"), TEMPLATE_CASES)
def test_chat_template_renders_like_real_qwen(tiny_models: Any, family: str, messages: list, expected: str) -> None:
    processor = _processor(tiny_models(family))
    rendered = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == expected
    assert _tokenizer(tiny_models(family)).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    ) == (expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_chat_template_renders_training_turns(tiny_models: Any, family: str) -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [*VIDEO_TURN, {"type": "video", "video": "b.mp4"}]},
        {"role": "assistant", "content": "<think>t</think>\n<answer>A</answer>"},
    ]
    rendered = _processor(tiny_models(family)).apply_chat_template(messages, tokenize=False)
    assert rendered == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>What colour?"
        "<|vision_start|><|video_pad|><|vision_end|><|im_end|>\n"
        "<|im_start|>assistant\n<think>t</think>\n<answer>A</answer><|im_end|>\n"
    )


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        pytest.param(10, 4, [0, 3, 6, 9], id="spread"),
        pytest.param(3, 4, [0, 1, 1, 2], id="fewer-frames-than-asked"),
        pytest.param(5, 1, [0], id="one"),
    ],
)
def test_sample_indices(total: int, count: int, expected: list[int]) -> None:
    assert sample_indices(total, count) == expected


@pytest.mark.parametrize(
    ("name", "count", "height", "width", "fps"),
    [
        pytest.param("square_8fps", 4, 64, 64, 4 / 2.0, id="square"),  # 16 frames at 8 fps = 2 s
        pytest.param("wide_25fps", 6, 90, 160, 6 / 1.6, id="wide"),
        pytest.param("long_4fps", 8, 64, 96, 8 / 9.0, id="long"),
    ],
)
def test_read_frames_returns_sampled_rgb_frames(
    good_videos: dict[str, Path], name: str, count: int, height: int, width: int, fps: float
) -> None:
    frames, got_fps = read_frames(good_videos[name], count)
    assert frames.shape == (count, height, width, 3)
    assert frames.dtype == np.uint8
    assert got_fps == pytest.approx(fps, rel=0.02)
    assert not np.array_equal(frames[0], frames[-1])  # the painted square moves between first and last frame


@pytest.mark.parametrize("name", ["truncated", "zero_bytes", "not_a_video", "audio_only"])
def test_read_frames_rejects_broken_video_with_video_error(broken_videos: dict[str, Path], name: str) -> None:
    with pytest.raises(VideoError, match=name):
        read_frames(broken_videos[name], 4)


def test_read_frames_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        read_frames(tmp_path / "nope.mp4", 4)
