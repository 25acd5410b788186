"""check_corpus and `videokr data check` on generated corpora (the other data verbs: tests/cli/test_data.py)."""

import json
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.data.check import check_corpus
from videokr.data.synth import write_video
from videokr.errors import DataError


def write_corpus(root: Path) -> Path:
    videos = root / "Videos" / "videos_0000"
    write_video(videos / "sq.mp4", width=64, height=64, fps=8.0, seconds=2.0)
    (videos / "broken.mp4").write_bytes(b"not a video" * 50)
    rows = [
        {
            "problem_id": "ok1",
            "question": "Colour?",
            "options": ["A. red", "B. blue"],
            "solution": "A",
            "problem_type": "multiple choice",
            "video_path": "videos_0000/sq.mp4",
        },
        {"problem_id": "miss", "question": "Q?", "solution": "x", "video_path": "videos_0000/nope.mp4"},
        {"problem_id": "bad", "question": "Q?", "solution": "x", "video_path": "videos_0000/broken.mp4"},
        {"problem_id": "noq", "solution": "x", "video_path": "videos_0000/sq.mp4"},
        {"problem_id": "novideo", "question": "Q?", "solution": "x"},
    ]
    corpus = root / "rl.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    return corpus


EXPECTED = [
    ("ok1", "ok"),
    ("miss", "missing"),
    ("bad", "unreadable"),
    ("", "invalid_row"),
    ("novideo", "invalid_row"),
    ("", "invalid_row"),
]


@pytest.mark.parametrize("workers", [pytest.param(1, id="inline"), pytest.param(2, id="pool")])
def test_check_corpus_reports_every_row(tmp_path: Path, workers: int) -> None:
    corpus = write_corpus(tmp_path)
    summary = check_corpus(corpus, tmp_path, "qwen2_5_vl", tmp_path / "report.jsonl", workers=workers, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert [(r["problem_id"], r["status"]) for r in rows] == EXPECTED
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    # 16 frames at 8 fps, 2 fps wanted -> 4 frames; qwen-vl-utils sizes 64x64 to 336x336 (min = max = 100352
    # pixels, factor 28); the default Qwen2-VL video processor keeps it; grid 2 x 24 x 24 -> 288 tokens.
    assert (rows[0]["frames"], rows[0]["visual_tokens"], rows[0]["prompt_tokens"]) == (4, 288, None)
    assert rows[1]["visual_tokens"] is None and rows[1]["reason"].startswith("missing")
    assert summary.rows == 6 and summary.statuses["invalid_row"] == 3
    assert summary.max_visual_tokens == 288


def test_check_corpus_with_tokenizer_counts_prompts_and_flags_too_long(tmp_path: Path) -> None:
    from videokr.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny", "qwen3_vl")
    corpus = write_corpus(tmp_path)
    report = tmp_path / "r.jsonl"
    check_corpus(corpus, tmp_path, "qwen3_vl", report, tokenizer=str(model), progress=False)
    first = json.loads(report.read_text().splitlines()[0])
    assert first["status"] == "ok"
    assert first["prompt_tokens"] > first["visual_tokens"] > 0
    check_corpus(
        corpus,
        tmp_path,
        "qwen3_vl",
        report,
        tokenizer=str(model),
        max_prompt_length=first["prompt_tokens"] - 1,
        progress=False,
    )
    again = json.loads(report.read_text().splitlines()[0])
    assert again["status"] == "too_long"


@pytest.mark.parametrize(
    "name, setup, message",
    [
        pytest.param("input", lambda p: None, "input file not found", id="missing_input"),
        pytest.param("empty", lambda p: (p / "empty.jsonl").write_text(""), "no rows", id="empty_input"),
    ],
)
def test_check_corpus_bad_input(tmp_path: Path, name: str, setup: object, message: str) -> None:
    setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        check_corpus(tmp_path / f"{name}.jsonl", tmp_path, "qwen3_vl", tmp_path / "r.jsonl", progress=False)
    assert not (tmp_path / "r.jsonl").exists()


def run_cli(argv: list[str]) -> int:
    return main(argv)


def test_cli_check_prints_summary_and_fails_on_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_corpus(tmp_path)
    code = run_cli(
        [
            "data",
            "check",
            "--input",
            str(corpus),
            "--video-root",
            str(tmp_path),
            "--family",
            "qwen3_vl",
            "--report",
            str(tmp_path / "r.jsonl"),
            "--workers",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "invalid_row  3" in out and "6 rows" in out
