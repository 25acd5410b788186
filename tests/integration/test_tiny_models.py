"""The tiny checkpoints with the real stack: transformers reload + generate on decoded video, and the way
verl (qwen-vl-utils + processor) and LLaMA-Factory (its mm plugin) turn a video prompt into model inputs."""

import re
from pathlib import Path
from typing import Any

import pytest

from videokr.prompts import INSTR, MC_TAIL
from videokr.tiny import FAMILIES, frames_metadata, read_frames

pytestmark = pytest.mark.integration

QUESTION = "What colour is the square?\nA. red\nB. blue\nC. green\nD. white\n" + INSTR + MC_TAIL


def _load(model_dir: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    return processor, model


def _video_message(path: Path, text: str = QUESTION) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "video", "video": str(path)}, {"type": "text", "text": text}]}]


def _encode(processor: Any, videos: list[Path], texts: list[str], num_frames: int = 4) -> Any:
    """lmms-eval / HF style: render the chat template, decode frames with PyAV, hand over pre-sampled frames."""
    prompts = [
        processor.apply_chat_template(_video_message(v, t), tokenize=False, add_generation_prompt=True)
        for v, t in zip(videos, texts, strict=True)
    ]
    decoded = [read_frames(v, num_frames) for v in videos]
    return processor(
        text=prompts,
        videos=[frames for frames, _ in decoded],
        video_metadata=[frames_metadata(frames, fps) for frames, fps in decoded],
        do_sample_frames=False,
        padding=True,
        padding_side="left",
        return_tensors="pt",
    )


def _video_pads(processor: Any, input_ids: Any) -> int:
    return int((input_ids == processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")).sum())


@pytest.mark.parametrize("size", ["small", "demo"])
@pytest.mark.parametrize("family", FAMILIES)
def test_reloaded_model_generates_on_decoded_video(
    tiny_models: Any, good_videos: dict[str, Path], family: str, size: str
) -> None:
    import torch

    processor, model = _load(tiny_models(family, size))
    assert type(model).__name__ == (
        "Qwen2_5_VLForConditionalGeneration" if family == "qwen2_5_vl" else "Qwen3VLForConditionalGeneration"
    )
    inputs = _encode(processor, [good_videos["square_8fps"]], [QUESTION])
    grid = inputs["video_grid_thw"][0].tolist()
    assert grid == [2, 4, 4]  # 4 frames -> 2 temporal patches; 64x64 -> fixed 4x4 patch grid
    assert _video_pads(processor, inputs["input_ids"]) == 2 * 4 * 4 // 4  # merge 2x2
    assert inputs["pixel_values_videos"].shape[0] == 2 * 4 * 4
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False)
        again = model.generate(**inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False)
    length = inputs["input_ids"].shape[1]
    assert out.shape == (1, length + 5)
    assert torch.equal(out[:, :length], inputs["input_ids"])
    assert torch.equal(out, again)
    assert int(out.max()) < model.config.text_config.vocab_size and int(out.min()) >= 0
    assert isinstance(processor.batch_decode(out[:, length:], skip_special_tokens=True)[0], str)


def test_qwen3_prompt_carries_frame_timestamps(tiny_models: Any, good_videos: dict[str, Path]) -> None:
    processor, _ = _load(tiny_models("qwen3_vl"))
    inputs = _encode(processor, [good_videos["square_8fps"]], [QUESTION])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    # 4 frames read at 2 fps: temporal patches centred at 0.25 s and 1.25 s
    assert re.findall(r"<(\d+\.\d) seconds>", text) == ["0.2", "1.2"]


@pytest.mark.parametrize("family", FAMILIES)
def test_left_padded_batch_matches_single_prompts(tiny_models: Any, good_videos: dict[str, Path], family: str) -> None:
    import torch

    processor, model = _load(tiny_models(family))
    videos = [good_videos["square_8fps"], good_videos["odd_12fps"]]
    texts = [QUESTION, "Short?"]
    batch = _encode(processor, videos, texts)
    assert batch["attention_mask"][1, 0] == 0  # the shorter prompt is left-padded
    with torch.no_grad():
        batched = model(**batch).logits[:, -1]
        for row, (video, text) in enumerate(zip(videos, texts, strict=True)):
            single = model(**_encode(processor, [video], [text])).logits[:, -1]
            torch.testing.assert_close(batched[row : row + 1], single, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("family", FAMILIES)
def test_verl_style_placeholder_prompt_expands_video_pads(
    tiny_models: Any, good_videos: dict[str, Path], family: str
) -> None:
    import torch
    from qwen_vl_utils import process_vision_info

    processor, model = _load(tiny_models(family))
    video = {"video": str(good_videos["square_8fps"]), "fps": 2.0, "min_frames": 4, "max_frames": 8}
    video.update({"min_pixels": 64 * 64, "max_pixels": 64 * 64})
    prompt = "<video>\n" + QUESTION
    # verl's RLHFDataset._build_messages: split the string prompt on <video> into typed content items
    content = [
        {"type": "video", **video} if part == "<video>" else {"type": "text", "text": part}
        for part in re.split("(<video>)", prompt)
        if part
    ]
    messages = [{"role": "user", "content": content}]
    raw = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert raw.count("<|video_pad|>") == 1 and raw.endswith("<|im_start|>assistant\n")
    patch = processor.video_processor.patch_size
    _, videos = process_vision_info(messages, image_patch_size=patch, return_video_metadata=True)
    frames, metadata = zip(*videos, strict=True)
    inputs = processor(
        text=[raw], videos=list(frames), video_metadata=list(metadata), do_sample_frames=False, return_tensors="pt"
    )
    grid = inputs["video_grid_thw"][0]
    assert _video_pads(processor, inputs["input_ids"]) == int(grid.prod()) // 4 > 0
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=2, min_new_tokens=2, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 2


@pytest.mark.parametrize(
    ("family", "template"),
    [pytest.param("qwen2_5_vl", "qwen2_vl", id="qwen2_5_vl"), pytest.param("qwen3_vl", "qwen3_vl", id="qwen3_vl")],
)
def test_llamafactory_plugin_expands_video_pads(
    tiny_models: Any, good_videos: dict[str, Path], family: str, template: str
) -> None:
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments, ModelArguments
    from llamafactory.model import load_tokenizer

    model_args = ModelArguments(
        model_name_or_path=str(tiny_models(family)), video_fps=2.0, video_maxlen=8, video_max_pixels=64 * 64
    )
    loaded = load_tokenizer(model_args)
    tokenizer, processor = loaded["tokenizer"], loaded["processor"]
    chat = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=template))
    video = str(good_videos["square_8fps"])
    messages = [
        {"role": "user", "content": "<video>" + QUESTION},
        {"role": "assistant", "content": "<think>The square is red.</think>\n<answer>A</answer>"},
    ]
    expanded = chat.mm_plugin.process_messages(messages, [], [video], [], processor)
    prompt_ids, answer_ids = chat.encode_oneturn(tokenizer, expanded)
    features = chat.mm_plugin.get_mm_inputs([], [video], [], [0], [1], [0], [prompt_ids], processor)
    pads = prompt_ids.count(tokenizer.convert_tokens_to_ids("<|video_pad|>"))
    assert pads == int(features["video_grid_thw"][0].prod()) // 4 > 0
    assert tokenizer.decode(answer_ids).endswith("<answer>A</answer><|im_end|>\n")
