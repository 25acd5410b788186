"""videokr.data.rl: verl parquet, the published split, the length filter; its CLI: tests/cli/test_data.py."""

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from videokr.data.rl import LengthFilter, prepare_rl
from videokr.errors import ConfigError, DataError

INSTR = (
    "Please answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, and then give your final answer "
    "between the <answer> and </answer> tags.\n"
)
MC_TAIL = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."


def _row(i: int, **change: Any) -> dict[str, Any]:
    row = {
        "problem_id": f"p{i}",
        "problem_type": "multiple choice",
        "question": f"Q{i}?",
        "options": ["A. x", "B. y"],
        "solution": "<answer>B</answer>",
        "video_path": f"videos_0001/v{i}.mp4",
    }
    return {k: v for k, v in {**row, **change}.items() if v is not None}


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def _published_split(ids: list[str], val_size: int, seed: int) -> tuple[list[str], list[str]]:
    # PROTOCOL.md section 4, written out independently of videokr.
    indices = list(range(len(ids)))
    random.Random(seed).shuffle(indices)
    val = set(indices[:val_size])
    return [x for i, x in enumerate(ids) if i not in val], [x for i, x in enumerate(ids) if i in val]


def test_prepare_rl_row_schema_matches_protocol(tmp_path: Path) -> None:
    src = _write(tmp_path / "rl.jsonl", [_row(0, video_path="./videos_0001/v0.mp4"), _row(1)])
    result = prepare_rl(src, tmp_path / "out", tmp_path / "root", val_size=1, seed=0)
    rows = _read(result.train) + _read(result.test)
    row = next(r for r in rows if r["extra_info"]["problem_id"] == "p0")
    assert row == {
        "data_source": "videokr",
        "prompt": [{"role": "user", "content": "<video>\nQ0?\nOptions:\nA. x\nB. y\n" + INSTR + MC_TAIL}],
        "videos": [
            {
                "video": str((tmp_path / "root" / "videos_0001" / "v0.mp4").resolve()),
                "fps": 2.0,
                "max_frames": 128,
                "min_frames": 4,
                "max_pixels": 100352,
                "min_pixels": 100352,
            }
        ],
        "ability": "video_qa",
        "reward_model": {"style": "rule", "ground_truth": "<answer>B</answer>"},
        "extra_info": {
            "problem_id": "p0",
            "problem_type": "multiple choice",
            "answer": "B",
            "solution": "<answer>B</answer>",
            "source_path": "./videos_0001/v0.mp4",
            "split": row["extra_info"]["split"],
            "index": 0,
        },
    }


def test_prepare_rl_split_matches_published_membership_and_order(tmp_path: Path) -> None:
    rows: list[object] = []
    for i in range(40):
        if i % 7 == 3:
            rows.append(_row(i, video_path=None))  # no video: dropped before the split
        elif i % 11 == 5:
            rows.append(_row(i, solution=" "))  # no ground truth: dropped before the split
        else:
            rows.append(_row(i))
    rows.insert(10, "{not json")
    published_ids = [
        r["problem_id"] for r in rows if isinstance(r, dict) and "video_path" in r and r["solution"].strip()
    ]
    train_ids, test_ids = _published_split(published_ids, 6, 42)
    result = prepare_rl(_write(tmp_path / "rl.jsonl", rows), tmp_path / "out", tmp_path, val_size=6)
    train, test = _read(result.train), _read(result.test)
    assert [r["extra_info"]["problem_id"] for r in train] == train_ids
    assert [r["extra_info"]["problem_id"] for r in test] == test_ids
    assert [r["extra_info"]["index"] for r in test] == list(range(6))
    assert {r["extra_info"]["split"] for r in test} == {"test"}
    assert result.split_rows == len(published_ids) and result.rows_read == 41
    assert result.dropped == {"no_video": 6, "no_answer": 3, "invalid_row": 1}


@dataclass(frozen=True)
class FakeInfo:
    status: str
    reason: str = ""


class FakeBudget:
    """Counts 1 token per prompt character plus 100 per video; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def count(self, messages: list[dict[str, Any]], video: Any, video_cfg: dict[str, Any]) -> int:
        self.calls.append((messages[0]["content"], video_cfg))
        return len(messages[0]["content"]) + 100


def _fake_probe(path: str) -> FakeInfo:
    name = Path(path).name
    if name.startswith("gone"):
        return FakeInfo("missing", "no such file")
    if name.startswith("bad"):
        return FakeInfo("unreadable", "moov atom not found")
    return FakeInfo("ok")


def test_prepare_rl_filters_after_the_split_and_reports_each_drop(tmp_path: Path) -> None:
    long_question = "L" * 400
    rows = [_row(i) for i in range(30)]
    rows[2] = _row(2, video_path="videos_0001/gone2.mp4")
    rows[5] = _row(5, video_path="videos_0001/bad5.mp4")
    rows[8] = _row(8, question=long_question)
    rows[12] = _row(12, question=None)  # in the published set (video + answer) but no question
    ids = [r["problem_id"] for r in rows]
    train_ids, test_ids = _published_split(ids, 8, 3)
    budget = FakeBudget()
    result = prepare_rl(
        _write(tmp_path / "rl.jsonl", rows),
        tmp_path / "out",
        tmp_path,
        val_size=8,
        seed=3,
        length_filter=LengthFilter(max_prompt_length=600, budget=budget, probe=_fake_probe),
    )
    dropped = {"p2": "video_missing", "p5": "video_unreadable", "p8": "too_long", "p12": "invalid_row"}
    got_train = [r["extra_info"]["problem_id"] for r in _read(result.train)]
    got_test = [r["extra_info"]["problem_id"] for r in _read(result.test)]
    assert got_train == [x for x in train_ids if x not in dropped]
    assert got_test == [x for x in test_ids if x not in dropped]
    report = [json.loads(x) for x in result.dropped_report.read_text().splitlines()]
    assert {r["line"]: r["reason"] for r in report} == {
        3: "video_missing",
        6: "video_unreadable",
        9: "too_long",
        13: "invalid_row",
    }
    assert report[2]["detail"].endswith("> max_prompt_length 600") and report[2]["problem_id"] == "p8"
    assert budget.calls[0][1] == {
        "fps": 2.0,
        "max_frames": 128,
        "min_frames": 4,
        "max_pixels": 100352,
        "min_pixels": 100352,
    }
    assert len(budget.calls) == 30 - 3  # the invalid row and the two bad videos are never counted


def test_prepare_rl_length_filter_without_model_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--model"):
        prepare_rl(_write(tmp_path / "rl.jsonl", [_row(0)]), tmp_path / "out", tmp_path, length_filter=LengthFilter())
    assert not (tmp_path / "out").exists()


def test_prepare_rl_all_rows_in_test_is_data_error_without_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="lower --val-size"):
        prepare_rl(_write(tmp_path / "rl.jsonl", [_row(0), _row(1)]), tmp_path / "out", tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dropped.jsonl"]


def test_prepare_rl_no_usable_rows_is_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no usable rows"):
        prepare_rl(_write(tmp_path / "rl.jsonl", [_row(0, video_path=None)]), tmp_path / "out", tmp_path, val_size=0)


def test_prepare_rl_fixes_published_ground_truth_quirks(tmp_path: Path) -> None:
    rows = [
        _row(0, solution="<ANSWER>B</ANSWER>"),
        _row(1, problem_type="open-ended", options=None, solution=" Paris "),
    ]
    result = prepare_rl(_write(tmp_path / "rl.jsonl", rows), tmp_path / "out", tmp_path, val_size=0)
    gts = [r["reward_model"]["ground_truth"] for r in _read(result.train)]
    assert gts == ["<answer>B</answer>", "<answer>Paris</answer>"]
