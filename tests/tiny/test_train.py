"""The demo's base-model trainer (videokr.tiny.train): chat content, batching, the lr schedule, training scope and the base-model builder."""

from pathlib import Path

import pytest
import torch

from videokr.run.demo import DemoSettings, prepare_demo_inputs
from videokr.tiny.train import (
    Example,
    TrainSettings,
    _lr_scale,
    caption_examples,
    collate,
    encode_examples,
    generate,
    train,
    user_content,
)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param("<video>What?", [{"type": "video"}, {"type": "text", "text": "What?"}], id="sft-leading"),
        pytest.param("<video>\nWhat?", [{"type": "video"}, {"type": "text", "text": "\nWhat?"}], id="rl-newline"),
        pytest.param("What?", [{"type": "video"}, {"type": "text", "text": "What?"}], id="eval-no-placeholder"),
        pytest.param("Look: <video>", [{"type": "text", "text": "Look: "}, {"type": "video"}], id="trailing"),
    ],
)
def test_user_content_puts_the_clip_where_the_placeholder_is(prompt: str, expected: list) -> None:
    assert user_content(prompt) == expected


def test_collate_left_pads_ids_labels_and_mask() -> None:
    short = {
        "input_ids": torch.tensor([[5, 6]]),
        "labels": torch.tensor([[-100, 6]]),
        "mm_token_type_ids": torch.tensor([[2, 0]]),
    }
    long = {
        "input_ids": torch.tensor([[1, 2, 3]]),
        "labels": torch.tensor([[-100, 2, 3]]),
        "mm_token_type_ids": torch.tensor([[2, 2, 0]]),
    }
    batch = collate([short, long], pad_id=0)
    assert batch["input_ids"].tolist() == [[0, 5, 6], [1, 2, 3]]
    assert batch["labels"].tolist() == [[-100, -100, 6], [-100, 2, 3]]
    assert batch["mm_token_type_ids"].tolist() == [[0, 2, 0], [2, 2, 0]]
    assert batch["attention_mask"].tolist() == [[0, 1, 1], [1, 1, 1]]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(0, 0.1, id="warmup-start"),
        pytest.param(9, 1.0, id="warmup-end"),
        pytest.param(55, 0.5, id="half"),
        pytest.param(100, 0.0, id="end"),
    ],
)
def test_lr_scale_warms_up_linearly_then_follows_a_cosine(step: int, expected: float) -> None:
    assert _lr_scale(step, 100, 10) == pytest.approx(expected, abs=1e-9)


@pytest.fixture(scope="module")
def demo_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The demo inputs at a tiny scale: a 6-caption corpus and a base model with a 4-step perception stage."""
    settings = DemoSettings(
        n_train=3,
        n_rl=3,
        n_eval=3,
        n_caption=6,
        size="small",
        perception=TrainSettings(steps=4, batch_size=3, warmup_steps=1, log_every=2),
    )
    inputs = prepare_demo_inputs(tmp_path_factory.mktemp("demo"), settings)
    assert inputs.corpus.sft_file.is_file() and inputs.corpus.rl_file.is_file() and inputs.corpus.eval_file.is_file()
    return inputs.base_model, inputs.corpus.caption_file, inputs.corpus.video_root


def load(path: Path) -> tuple[object, object]:
    import transformers

    return (
        transformers.AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32),
        transformers.AutoProcessor.from_pretrained(path),
    )


def test_base_model_reloads_as_a_checkpoint_and_generates_text(demo_setup: tuple[Path, Path, Path]) -> None:
    base, captions, root = demo_setup
    model, processor = load(base)
    encoded = encode_examples(processor, caption_examples(captions, root)[:2], 4, with_targets=False)
    assert all(item["video_grid_thw"].tolist() == [[2, 4, 4]] for item in encoded)  # fixed 4-frame 64x64 grid
    outputs = generate(model, processor, encoded, max_new_tokens=4)
    assert len(outputs) == 2 and all(isinstance(text, str) for text in outputs)


def test_prompt_tokens_are_masked_and_the_target_is_learned(demo_setup: tuple[Path, Path, Path]) -> None:
    base, captions, root = demo_setup
    _, processor = load(base)
    example = caption_examples(captions, root)[0]
    item = encode_examples(processor, [example], 4, with_targets=True)[0]
    kept = item["input_ids"][0][item["labels"][0] != -100]
    assert processor.tokenizer.decode(kept) == example.target + "<|im_end|>"


@pytest.mark.parametrize(
    ("train_vision", "vision_changes"),
    [pytest.param(False, False, id="vision-frozen"), pytest.param(True, True, id="vision-trained")],
)
def test_train_touches_the_vision_tower_only_when_asked(
    demo_setup: tuple[Path, Path, Path], train_vision: bool, vision_changes: bool
) -> None:
    base, captions, root = demo_setup
    model, processor = load(base)
    examples = [Example(e.video, e.prompt, e.target) for e in caption_examples(captions, root)]
    encoded = encode_examples(processor, examples, 4, with_targets=True)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    result = train(
        model,
        processor,
        encoded,
        TrainSettings(steps=2, batch_size=2, warmup_steps=1, train_vision=train_vision, log_every=1),
    )
    assert len(result.losses) == 2 and all(loss > 0 for loss in result.losses)
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert any(".visual." in f".{name}" for name in changed) == vision_changes
    assert any("language_model" in name or "lm_head" in name for name in changed)
