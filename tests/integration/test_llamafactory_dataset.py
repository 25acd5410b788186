"""LLaMA-Factory's own dataset loader reads prepare-sft's JSON + dataset_info.json and encodes the videos."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from videokr.data.sft import prepare_sft

pytestmark = pytest.mark.integration

TEMPLATES = {"qwen2_5_vl": "qwen2_vl", "qwen3_vl": "qwen3_vl"}


def _corpus(tmp_path: Path, video_dir: Path) -> Path:
    names = ["square_8fps", "odd_12fps", "wide_25fps"]
    (tmp_path / "root" / "videos_0001").mkdir(parents=True)
    rows = []
    for i, name in enumerate(names):
        shutil.copy(video_dir / f"{name}.mp4", tmp_path / "root" / "videos_0001" / f"{name}.mp4")
        rows.append(
            {
                "problem_id": f"p{i}",
                "problem_type": "multiple choice" if i % 2 == 0 else "open-ended",
                "question": f"What moves in clip {i}?",
                "options": {"B": "a circle", "A": "a square"} if i % 2 == 0 else None,
                "solution": "<answer>A</answer>" if i % 2 == 0 else "a square",
                "think": "<think>I see a square moving.</think>",
                "video_path": f"./videos_0001/{name}.mp4",
            }
        )
    src = tmp_path / "cot.jsonl"
    src.write_text("".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows))
    return src


def _load(model: Path, dataset_dir: Path, template: str, out: Path) -> tuple[Any, Any]:
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, _, _ = get_train_args(
        {
            "model_name_or_path": str(model),
            "stage": "sft",
            "do_train": True,
            "finetuning_type": "full",
            "dataset": "videokr_train",
            "dataset_dir": str(dataset_dir),
            "template": template,
            "cutoff_len": 16384,
            "video_fps": 2.0,
            "video_maxlen": 128,
            "video_max_pixels": 100352,
            "output_dir": str(out),
            "overwrite_output_dir": True,
            "report_to": "none",
            "preprocessing_num_workers": 1,
            "use_fast_tokenizer": False,
            "bf16": False,
            "fp16": False,
        }
    )
    tokenizer_module = load_tokenizer(model_args)
    template_obj = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    module = get_dataset(template_obj, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    return module["train_dataset"], tokenizer_module["tokenizer"]


@pytest.mark.parametrize(
    "family", [pytest.param("qwen2_5_vl", id="qwen2.5-vl"), pytest.param("qwen3_vl", id="qwen3-vl")]
)
def test_llamafactory_loader_encodes_prepare_sft_output_with_video_tokens(
    family: str, tmp_path: Path, video_dir: Path, request: pytest.FixtureRequest
) -> None:
    model: Path = request.getfixturevalue(f"tiny_{family}")
    result = prepare_sft(_corpus(tmp_path, video_dir), tmp_path / "sft", video_root=tmp_path / "root")
    assert result.written == 3

    dataset, tokenizer = _load(model, tmp_path / "sft", TEMPLATES[family], tmp_path / "run")
    assert len(dataset) == 3
    video_pad = tokenizer.convert_tokens_to_ids("<|video_pad|>")
    answer_ids = tokenizer.encode("<answer>A</answer>", add_special_tokens=False)
    for row in dataset:
        ids, labels = row["input_ids"], row["labels"]
        assert ids.count(video_pad) > 0  # the <video> placeholder became the clip's visual tokens
        assert "<video>" not in tokenizer.decode(ids)  # no placeholder left unexpanded
        supervised = [t for t, label in zip(ids, labels, strict=True) if label != -100]
        assert video_pad not in supervised and len(supervised) > 0
    first_target = [t for t, label in zip(dataset[0]["input_ids"], dataset[0]["labels"], strict=True) if label != -100]
    assert tokenizer.decode(first_target).startswith("<think>I see a square moving.</think>")
    assert any(first_target[i : i + len(answer_ids)] == answer_ids for i in range(len(first_target)))
