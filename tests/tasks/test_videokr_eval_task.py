"""The videokr_eval lmms-eval task functions: video lookup, the published eval prompt, scoring, aggregation."""

from pathlib import Path

import pytest

from videokr.prompts import INSTR, MC_TAIL, OE_TAIL
from videokr.tasks.videokr_eval import utils

MC_DOC = {
    "problem_id": "q1",
    "problem_type": "multiple choice",
    "question": "  Which flame colour?  ",
    "options": ["A. red", "B. green", " ", "C. blue"],
    "solution": "B",
    "video_path": "videos_0001/clip.mp4",
}
MISSING = object()
OE_DOC = {"id": "q2", "question_type": "open-ended", "problem": "Name the element.", "answer": "copper", "video": "x"}


@pytest.mark.parametrize(
    ("existing", "relative", "expected"),
    [
        pytest.param("a/clip.mp4", "a/clip.mp4", "a/clip.mp4", id="as-given"),
        pytest.param("a/clip.mkv", "a/clip", "a/clip.mkv", id="suffix-added"),
        pytest.param("a/clip.webm", "a/clip", "a/clip.webm", id="webm"),
        pytest.param("Videos/a/clip.mp4", "a/clip.mp4", "Videos/a/clip.mp4", id="under-Videos"),
        pytest.param("Videos/a/clip.avi", "a/clip", "Videos/a/clip.avi", id="under-Videos-with-suffix"),
        pytest.param("a/clip.mp4", "Videos/a/clip.mp4", "a/clip.mp4", id="Videos-prefix-dropped"),
        pytest.param(None, "a/missing.mp4", "a/missing.mp4", id="missing-first-candidate"),
    ],
)
def test_find_video_tries_published_fallbacks(
    tmp_path: Path, existing: str | None, relative: str, expected: str
) -> None:
    if existing:
        (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / existing).write_bytes(b"x")
    assert utils.find_video(str(tmp_path), relative) == str(tmp_path / expected)


def test_doc_to_visual_uses_video_root_from_task_kwargs(tmp_path: Path) -> None:
    (tmp_path / "videos_0001").mkdir()
    (tmp_path / "videos_0001" / "clip.mp4").write_bytes(b"x")
    assert utils.videokr_doc_to_visual(MC_DOC, {"video_root": str(tmp_path)}) == [
        str(tmp_path / "videos_0001" / "clip.mp4")
    ]


def test_doc_to_text_is_the_published_eval_prompt() -> None:
    # PROTOCOL.md section 3, eval stage: question + "\n" + option lines + "\n" + INSTR + tail, no "Options:" header.
    mc = "Which flame colour?\nA. red\nB. green\nC. blue\n" + INSTR + MC_TAIL
    assert utils.videokr_doc_to_text(MC_DOC, {"prompt_style": "compat"}) == mc
    assert utils.videokr_doc_to_text(OE_DOC, None) == "Name the element.\n" + INSTR + OE_TAIL


@pytest.mark.parametrize(
    ("problem_type", "tail", "correct"),
    [
        pytest.param(MISSING, MC_TAIL, True, id="missing-type-with-options-is-mc"),
        pytest.param("", MC_TAIL, True, id="empty-type-with-options-is-mc"),
        pytest.param(None, OE_TAIL, None, id="null-type-is-open-ended"),
    ],
)
def test_prompt_and_scoring_share_published_type_rule(
    monkeypatch: pytest.MonkeyPatch, problem_type: object, tail: str, correct: bool | None
) -> None:
    # lmms-eval's json loader fills a key that other rows have with null: the published rule reads it as "none".
    monkeypatch.delenv("VIDEOKR_JUDGE", raising=False)
    monkeypatch.setenv("VIDEOKR_SCORING_STYLE", "compat")
    doc = {k: v for k, v in MC_DOC.items() if k != "problem_type"}
    if problem_type is not MISSING:
        doc["problem_type"] = problem_type
    assert (
        utils.videokr_doc_to_text(doc, {"prompt_style": "compat"})
        == "Which flame colour?\nA. red\nB. green\nC. blue\n" + INSTR + tail
    )
    assert utils.videokr_process_results(doc, ["<answer>B</answer>"])["videokr_acc"]["correct"] is correct


@pytest.mark.parametrize(
    ("doc", "prediction", "correct", "mode"),
    [
        pytest.param(MC_DOC, "<think>green flame</think><answer>B</answer>", True, "rule", id="mc-right"),
        pytest.param(MC_DOC, "<answer>C</answer>", False, "rule", id="mc-wrong"),
        pytest.param(OE_DOC, "<answer>copper</answer>", None, "rule", id="open-ended-skipped-without-judge"),
    ],
)
def test_process_results_scores_and_carries_row(
    monkeypatch: pytest.MonkeyPatch, doc: dict, prediction: str, correct: bool | None, mode: str
) -> None:
    monkeypatch.delenv("VIDEOKR_JUDGE", raising=False)
    value = utils.videokr_process_results(doc, [prediction])["videokr_acc"]
    assert (value["correct"], value["mode"], value["prediction"]) == (correct, mode, prediction)
    assert all(value[k] == v for k, v in doc.items())


def test_aggregate_counts_only_scored_rows() -> None:
    rows = [{"correct": True}, {"correct": False}, {"correct": True}, {"correct": None}]
    assert utils.videokr_aggregate(rows) == pytest.approx(100 * 2 / 3)
    assert utils.videokr_aggregate([{"correct": None}]) == 0.0
