"""The Qwen3-VL vLLM prompt fix (verl issue 5024): processor-expanded ids back to the tokenizer's form."""

import doctest

import pytest

import videokr.plugins.verl_vllm as verl_vllm
from videokr.plugins.verl_vllm import collapse_video_groups, tokenizer_prompt_ids


def test_module_doctests_pass():
    result = doctest.testmod(verl_vllm)
    assert result.attempted > 0 and result.failed == 0


def test_collapse_rejects_a_group_count_that_does_not_match_the_prompt():
    text = "<0.5 seconds><|vision_start|><|video_pad|><|vision_end|>"
    with pytest.raises(ValueError, match="expected 2 video groups"):
        collapse_video_groups(text, [2])


@pytest.mark.parametrize(
    ("frames", "texts"),
    [
        pytest.param([4], ["Describe it."], id="one-video"),
        pytest.param([4, 6], ["", "Compare the two clips."], id="two-adjacent-videos"),
        pytest.param([8, 2], ["First:", "Second:"], id="two-videos-with-text"),
    ],
)
def test_tokenizer_prompt_ids_equal_the_tokenizers_chat_ids(frames, texts, tiny_qwen3_vl, good_videos):
    import torch
    from transformers import AutoProcessor

    from videokr.tiny.frames import frames_metadata, read_frames

    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl)
    clips = [read_frames(good_videos["square_8fps"], n) for n in frames]
    content = []
    for text in texts:
        content.append({"type": "video"})
        if text:
            content.append({"type": "text", "text": text})
    messages = [{"role": "user", "content": content}]
    chat = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    expanded = processor(
        text=[chat],
        videos=[v for v, _ in clips],
        video_metadata=[frames_metadata(v, fps) for v, fps in clips],
        do_sample_frames=False,
        return_tensors="pt",
    )["input_ids"][0].tolist()
    video_data = [(torch.from_numpy(v), {}) for v, _ in clips]
    got = tokenizer_prompt_ids(processor.tokenizer, expanded, video_data, 2)
    assert len(got) < len(expanded)
    assert got == processor.tokenizer(chat)["input_ids"]
    assert got.count(processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")) == len(frames)
