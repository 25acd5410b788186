"""videokr.data.sft: sharegpt JSON + dataset_info.json (PROTOCOL.md section 4); its CLI: tests/cli/test_data.py."""

import json
from pathlib import Path

import pytest

from videokr.data.sft import prepare_sft
from videokr.errors import DataError

INSTR = (
    "Please answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, and then give your final answer "
    "between the <answer> and </answer> tags.\n"
)
MC_TAIL = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."

ROW = {
    "problem_id": "p0",
    "problem_type": "multiple choice",
    "question": "Q?",
    "options": ["A. x", "B. y"],
    "solution": "<answer>B</answer>",
    "think": "<think>Because.</think>",
    "video_path": "./videos_0001/a.mp4",
}


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_prepare_sft_writes_sharegpt_entries_and_dataset_info(tmp_path: Path) -> None:
    src = _write(tmp_path / "cot.jsonl", [ROW, {**ROW, "problem_id": "p1", "video_path": "videos_0001/b.mp4"}])
    result = prepare_sft(src, tmp_path / "out")
    entries = json.loads(result.output.read_text())
    assert result.written == 2 and result.skipped == 0
    assert entries[0] == {
        "messages": [
            {"role": "user", "content": "<video>Q?\n\nOptions:\nA. x\nB. y\n" + INSTR + MC_TAIL},
            {"role": "assistant", "content": "<think>Because.</think>\n<answer>B</answer>"},
        ],
        "videos": ["videos_0001/a.mp4"],
    }
    assert all(e["messages"][0]["content"].count("<video>") == len(e["videos"]) == 1 for e in entries)
    info = json.loads(result.dataset_info.read_text())
    assert info == {
        "videokr_train": {
            "file_name": "videokr_train.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "videos": "videos"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        }
    }


def test_prepare_sft_skips_unusable_rows_with_file_line_and_reason(tmp_path: Path) -> None:
    rows: list[object] = [
        ROW,
        "{oops",
        {**ROW, "think": ""},
        {**ROW, "solution": "  "},
        {k: v for k, v in ROW.items() if k != "video_path"},
        {**ROW, "video_path": "../../etc/passwd"},
    ]
    src = _write(tmp_path / "cot.jsonl", rows)
    result = prepare_sft(src, tmp_path / "out")
    skipped = [json.loads(line) for line in result.skipped_report.read_text().splitlines()]
    assert result.written == 1 and result.skipped == 5
    assert [(s["line"], s["field"]) for s in skipped] == [
        (2, "json"),
        (3, "think"),
        (4, "solution"),
        (5, "video_path"),
        (6, "video_path"),
    ]
    assert all(s["file"] == str(src) and s["reason"] for s in skipped)


def test_prepare_sft_video_root_gives_absolute_paths_and_skips_missing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "Videos" / "videos_0001").mkdir(parents=True)
    (root / "Videos" / "videos_0001" / "a.mp4").write_bytes(b"x")
    src = _write(tmp_path / "cot.jsonl", [ROW, {**ROW, "video_path": "videos_0001/missing.mp4"}])
    result = prepare_sft(src, tmp_path / "out", video_root=root, skip_missing_videos=True)
    entries = json.loads(result.output.read_text())
    assert [e["videos"] for e in entries] == [[str((root / "Videos" / "videos_0001" / "a.mp4").resolve())]]
    assert result.reasons == {"video_path": 1}


def test_prepare_sft_unified_style_changes_only_the_prompt(tmp_path: Path) -> None:
    result = prepare_sft(_write(tmp_path / "cot.jsonl", [ROW]), tmp_path / "out", style="unified")
    [entry] = json.loads(result.output.read_text())
    assert entry["messages"][0]["content"] == "<video>\nQ?\nOptions:\nA. x\nB. y\n" + INSTR + MC_TAIL


def test_prepare_sft_keeps_other_datasets_in_dataset_info(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "mine.json"}}))
    prepare_sft(_write(tmp_path / "cot.jsonl", [ROW]), out)
    assert set(json.loads((out / "dataset_info.json").read_text())) == {"mine", "videokr_train"}


def test_prepare_sft_empty_result_is_data_error_and_leaves_no_output(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no usable rows"):
        prepare_sft(_write(tmp_path / "cot.jsonl", [{**ROW, "think": ""}]), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["skipped.jsonl"]


def test_prepare_sft_missing_input_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        prepare_sft(tmp_path / "nope.jsonl", tmp_path / "out")
    assert not (tmp_path / "out").exists()
