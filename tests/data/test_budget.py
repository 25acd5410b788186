"""PromptBudget.count equals the prompt length verl's RLHFDataset length filter computes (real processor, decoded video).

Both loaders are checked: `from_model` (the checkpoint's files, no transformers) and `from_transformers`.
"""

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from videokr.data.budget import PromptBudget, build_verl_messages
from videokr.data.synth import write_video
from videokr.data.videos import probe_video
from videokr.errors import ConfigError
from videokr.prompts import INSTR, MC_TAIL

CLIPS = (("a", 64, 64, 8.0, 2.0), ("b", 160, 90, 25.0, 3.2), ("c", 90, 160, 12.0, 5.5), ("d", 112, 84, 4.0, 7.0))
ENTRIES = (
    {"fps": 2.0, "max_frames": 128, "min_frames": 4, "max_pixels": 12544, "min_pixels": 3136},
    {"fps": 1.0, "max_frames": 4, "min_frames": 2, "max_pixels": 6272, "min_pixels": 6272},
)
PROMPT = "<video>\nWhat colour is the flame?\nOptions:\nA. red\nB. green\n" + INSTR + MC_TAIL


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("budget_clips")
    return {n: write_video(root / f"{n}.mp4", width=w, height=h, fps=f, seconds=s) for n, w, h, f, s in CLIPS}


@pytest.fixture(scope="module", params=["qwen2_5_vl", "qwen3_vl"])
def tiny_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from videokr.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / request.param, request.param)


def verl_prompt_length(processor: Any, row: dict[str, Any], image_patch_size: int) -> int:
    """verl 0.9.1 RLHFDataset.maybe_filter_out_long_prompts' doc2len, through verl's own functions."""
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import build_multimodal_processor_inputs

    fake = SimpleNamespace(image_key="images", video_key="videos", audio_key="audios", processor=processor)
    messages = RLHFDataset._build_messages(fake, copy.deepcopy(row), key="prompt")  # type: ignore[arg-type]
    raw = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    images, videos, audios = RLHFDataset._process_multi_modal_info(messages, image_patch_size, {})
    inputs = build_multimodal_processor_inputs(processor, text=[raw], images=images, videos=videos, audio=audios)
    return len(inputs["input_ids"][0])


@pytest.fixture(scope="module")
def real_processor(tiny_model: Path) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model)


# from_model reads the checkpoint's files without transformers; from_transformers loads AutoProcessor
LOADERS = ("from_model", "from_transformers")


@pytest.mark.parametrize("loader", LOADERS)
def test_count_equals_verl_length_filter(
    tiny_model: Path, real_processor: Any, clips: dict[str, Path], loader: str
) -> None:
    budget = getattr(PromptBudget, loader)(tiny_model)
    for name, path in clips.items():
        for entry in ENTRIES:
            row = {"prompt": [{"role": "user", "content": PROMPT}], "videos": [{"video": str(path), **entry}]}
            expected = verl_prompt_length(real_processor, row, budget.image_patch_size)
            assert budget.count(row["prompt"], probe_video(path), entry) == expected, (name, entry)


@pytest.mark.parametrize("loader", LOADERS)
def test_count_with_verl_default_patch_14(
    tiny_model: Path, real_processor: Any, clips: dict[str, Path], loader: str
) -> None:
    budget = getattr(PromptBudget, loader)(tiny_model, image_patch_size=14)
    entry = {"fps": 2.0, "max_frames": 16, "min_frames": 4, "max_pixels": 50176, "min_pixels": 3136}
    path = clips["b"]
    row = {"prompt": [{"role": "user", "content": PROMPT}], "videos": [{"video": str(path), **entry}]}
    assert budget.count(row["prompt"], probe_video(path), entry) == verl_prompt_length(real_processor, row, 14)


def test_build_verl_messages_splits_placeholders() -> None:
    chat = build_verl_messages([{"role": "user", "content": "<video>\nQ?"}], [{"video": "/v.mp4", "fps": 2.0}])
    assert chat == [
        {
            "role": "user",
            "content": [{"type": "video", "video": "/v.mp4", "fps": 2.0}, {"type": "text", "text": "\nQ?"}],
        }
    ]


@pytest.mark.parametrize(
    "content, videos",
    [
        pytest.param("no placeholder", [{"video": "/v.mp4"}], id="video_without_placeholder"),
        pytest.param("<video><video>", [{"video": "/v.mp4"}], id="two_placeholders_one_video"),
        pytest.param("<image><video>", [{"video": "/v.mp4"}], id="image_placeholder"),
    ],
)
def test_build_verl_messages_rejects_mismatches(content: str, videos: list[dict[str, Any]]) -> None:
    with pytest.raises(ConfigError):
        build_verl_messages([{"role": "user", "content": content}], videos)
