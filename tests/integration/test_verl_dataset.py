"""verl's own RLHFDataset reads prepare-rl's parquet and turns a row into model inputs with video tokens."""

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from videokr.data.rl import LengthFilter, prepare_rl

pytestmark = pytest.mark.integration


def _rows(names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "problem_id": f"p{i}",
            "problem_type": "multiple choice" if i % 2 == 0 else "open-ended",
            "question": f"What colour is the square in clip {i}?",
            "options": ["A. red", "B. blue"] if i % 2 == 0 else [],
            "solution": "A" if i % 2 == 0 else "orange",
            "video_path": f"videos_0001/{name}.mp4",
        }
        for i, name in enumerate(names)
    ]


def _corpus(tmp_path: Path, video_dir: Path, names: list[str]) -> tuple[Path, Path]:
    root = tmp_path / "root"
    (root / "Videos" / "videos_0001").mkdir(parents=True)
    for name in set(names):
        shutil.copy(video_dir / f"{name}.mp4", root / "Videos" / "videos_0001" / f"{name}.mp4")
    src = tmp_path / "rl.jsonl"
    src.write_text("".join(json.dumps(row) + "\n" for row in _rows(names)))
    return src, root


def _verl_dataset(parquet: Path, model: Path, tmp_path: Path, filter_overlong: bool) -> Any:
    from omegaconf import OmegaConf
    from transformers import AutoProcessor
    from verl.utils.dataset.rl_dataset import RLHFDataset

    processor = AutoProcessor.from_pretrained(model)
    config = OmegaConf.create(
        {
            "max_prompt_length": 16384,
            "filter_overlong_prompts": filter_overlong,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": str(tmp_path / "cache"),
            "return_raw_chat": True,
        }
    )
    return RLHFDataset(str(parquet), processor.tokenizer, config, processor=processor), processor


@pytest.mark.parametrize(
    "family", [pytest.param("qwen2_5_vl", id="qwen2.5-vl"), pytest.param("qwen3_vl", id="qwen3-vl")]
)
def test_verl_rlhf_dataset_loads_prepare_rl_parquet_with_video_inputs(
    family: str, tmp_path: Path, video_dir: Path, request: pytest.FixtureRequest
) -> None:
    model: Path = request.getfixturevalue(f"tiny_{family}")
    names = ["square_8fps", "odd_12fps", "wide_25fps", "long_4fps", "truncated", "square_8fps"]
    src, root = _corpus(tmp_path, video_dir, names)
    result = prepare_rl(
        src, tmp_path / "out", root, val_size=1, seed=1, length_filter=LengthFilter(16384, model=str(model))
    )
    assert sum(result.dropped.values()) == 1 and set(result.dropped) <= {"video_unreadable", "video_error"}
    assert result.train_rows + result.test_rows == 5

    dataset, processor = _verl_dataset(result.train, model, tmp_path, filter_overlong=True)
    assert len(dataset) == result.train_rows  # verl's own decode-every-video filter keeps every row we kept
    item = dataset[0]
    messages = item["raw_prompt"]
    video_parts = [part for part in messages[0]["content"] if part.get("type") == "video"]
    assert len(video_parts) == 1 and Path(video_parts[0]["video"]).is_file()
    assert video_parts[0]["fps"] == 2.0 and video_parts[0]["max_pixels"] == 100352

    _images, videos = asyncio.run(dataset.process_vision_info(messages, dataset.image_patch_size, dataset.config))
    frames, metadata = zip(*videos, strict=True)
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], videos=list(frames), video_metadata=list(metadata), do_sample_frames=False)
    video_token_id = processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    n_video_tokens = sum(1 for t in inputs["input_ids"][0] if t == video_token_id)
    grid = inputs["video_grid_thw"][0]
    assert n_video_tokens == int(grid.prod()) // 4 > 0
