import json
from dataclasses import dataclass, field

import pytest

from videokr.cli import main
from videokr.scoring import aggregate, prediction_rows, score_prediction, score_rows, score_samples

OPTS = ["A. Potassium", "B. Sodium", "C. Copper", "D. Lithium"]


def mc(**extra):
    return {
        "problem_id": "m",
        "problem_type": "multiple choice",
        "question": "Which element?",
        "options": OPTS,
        "solution": "B",
        **extra,
    }


def untyped(**extra):
    """A multiple-choice row without a `problem_type` key (the published rule then looks at the options)."""
    row = mc(**extra)
    del row["problem_type"]
    return row


def oe(**extra):
    return {
        "problem_id": "o",
        "problem_type": "open-ended",
        "question": "Which element?",
        "solution": "sodium",
        **extra,
    }


@pytest.mark.parametrize(
    ("doc", "prediction", "correct", "extracted"),
    [
        pytest.param(mc(), "<answer>B</answer>", True, "B", id="letter"),
        pytest.param(mc(), "<ANSWER> (B) </ANSWER>", True, "B", id="paren-upper-tags"),
        pytest.param(mc(), "<answer>B. Sodium</answer>", True, "B", id="label"),
        pytest.param(mc(), "The answer is B", True, "B", id="untagged-phrase"),
        pytest.param(mc(), "<answer>Sodium</answer>", True, "B", id="option-text"),
        pytest.param(mc(), "<answer>C</answer>", False, "C", id="wrong-letter"),
        pytest.param(
            mc(), "<answer>I think a flame test shows it</answer>", False, None, id="english-words-no-letter"
        ),
        pytest.param(mc(), "<answer>E</answer>", False, None, id="letter-not-an-option"),
        pytest.param(mc(), "<answer>option b</answer>", True, "B", id="option-lower"),
        pytest.param(mc(), "<answer>I'd pick B</answer>", True, "B", id="pick-in-sentence"),
        pytest.param(mc(), "<answer>After a careful look, C</answer>", False, "C", id="last-word"),
        pytest.param(mc(), "<answer>A person would say D</answer>", False, "D", id="article-then-say"),
        pytest.param(mc(), "<answer>A is wrong because it burns red</answer>", False, None, id="ruled-out-only"),
        pytest.param(mc(), "<answer>I would say E</answer>", False, None, id="said-letter-not-an-option"),
        pytest.param(mc(solution="<answer>B</answer>"), "B", True, "B", id="tagged-truth"),
        pytest.param(mc(problem_type="mcq"), "B", True, "B", id="mcq-alias"),
        pytest.param(mc(problem_type="Multiple_Choice"), "B", True, "B", id="underscore-type"),
        pytest.param(mc(problem_type=None, question_type="essay"), "B", True, "B", id="unknown-type-with-options"),
        pytest.param(mc(options=[*OPTS, "E. Iron", "F. Barium"], solution="F"), "F", True, "F", id="beyond-d"),
        pytest.param(mc(solution="Sodium"), "B", True, "B", id="truth-as-option-text"),
        pytest.param(oe(), "sodium", None, "sodium", id="open-ended-skipped"),
        pytest.param(mc(solution=""), "B", None, None, id="no-answer-unusable"),
        pytest.param(mc(solution="the sodium one"), "B", None, None, id="truth-names-no-letter"),
    ],
)
def test_fixed_rule_scoring(doc, prediction, correct, extracted):
    result = score_prediction(doc, prediction)
    assert (result.correct, result.extracted, result.mode) == (correct, extracted, "rule")
    assert result.skipped is (correct is None)


@pytest.mark.parametrize(
    ("doc", "prediction", "correct"),
    [
        pytest.param(mc(problem_type="multiple-choice"), "B", True, id="hyphen-type"),
        pytest.param(mc(problem_type="Multiple Choice"), "<answer>b</answer>", True, id="spaces-to-hyphens"),
        pytest.param(mc(problem_type="multiple choice", solution="A"), "It is a yellow flame", True, id="defect-a"),
        pytest.param(mc(problem_type="multiple choice", solution="B"), "I believe B", False, id="defect-I"),
        pytest.param(mc(problem_type="multiple choice"), "(B)", True, id="paren"),
        pytest.param(mc(problem_type="mcq"), "B", None, id="mcq-is-open-ended"),
        pytest.param(mc(problem_type="multiple_choice"), "B", None, id="underscore-is-open-ended"),
        pytest.param(mc(problem_type="multiple choice"), "sodium", False, id="no-letter"),
        pytest.param(mc(problem_type=" Multiple Choice "), "B", True, id="padded-type-stripped"),
        pytest.param(untyped(), "B", True, id="missing-type-with-options-is-mc"),
        pytest.param(untyped(), "<answer>I think B</answer>", False, id="missing-type-published-letter-rules"),
        pytest.param(untyped(options=[]), "B", None, id="missing-type-without-options-is-open-ended"),
        pytest.param(untyped(options=[" "]), "B", None, id="missing-type-blank-option-renders-empty"),
        pytest.param(untyped(options=["", ""]), "B", True, id="missing-type-two-empty-lines-render-newline"),
        pytest.param(untyped(options={"A": "K", "B": "Na"}), "B", True, id="missing-type-dict-options"),
        pytest.param(untyped(options=None, option=OPTS), "B", True, id="missing-type-singular-option-key"),
        pytest.param(untyped(option=None), "B", None, id="missing-type-null-option-key-wins"),
        pytest.param(untyped(question_type="open-ended"), "B", True, id="missing-type-alias-not-read"),
        pytest.param(mc(problem_type=""), "B", True, id="empty-type-with-options-is-mc"),
        pytest.param(mc(problem_type="  "), "B", True, id="blank-type-with-options-is-mc"),
        pytest.param(oe(problem_type=""), "sodium", None, id="empty-type-without-options-is-open-ended"),
        pytest.param(mc(problem_type=None), "B", None, id="null-type-reads-none-open-ended"),
        pytest.param(oe(problem_type=None), "sodium", None, id="null-type-without-options"),
        pytest.param(mc(problem_type="essay"), "B", None, id="unknown-type-with-options-is-open-ended"),
    ],
)
def test_compat_rule_scoring_reproduces_published_evaluator(doc, prediction, correct):
    result = score_prediction(doc, prediction, style="compat")
    assert result.correct is correct
    assert result.skipped is (correct is None)


@dataclass
class RecordingJudge:
    """An in-memory judge that approves everything and keeps the prompts it was sent."""

    model: str = "recorder"
    temperature: float = 1.0
    prompts: list[str] = field(default_factory=list)

    def complete(self, messages):
        self.prompts.append(messages[-1]["content"])
        return "1"


@pytest.mark.parametrize(
    ("doc", "strict"),
    [
        pytest.param(untyped(), True, id="missing-type-with-options"),
        pytest.param(untyped(options=[]), False, id="missing-type-without-options"),
        pytest.param(mc(problem_type=""), True, id="empty-type-with-options"),
        pytest.param(oe(problem_type=""), False, id="empty-type-without-options"),
        pytest.param(mc(problem_type=None), False, id="null-type-with-options"),
        pytest.param(mc(problem_type="mcq"), False, id="mcq"),
        pytest.param(mc(problem_type="Multiple Choice"), True, id="spaces-to-hyphens"),
    ],
)
def test_compat_judge_prompt_follows_published_type_rule(doc, strict):
    judge = RecordingJudge()
    result = score_prediction(doc, "B", judge=judge, style="compat")
    assert (result.correct, result.mode) == (True, "judge")
    assert ("multiple-choice question" in judge.prompts[-1]) is strict


def test_unknown_style_is_rejected():
    with pytest.raises(ValueError, match="style"):
        score_prediction(mc(), "B", style="loose")


def test_aggregate_counts_groups_and_excludes_skipped_rows():
    docs = [
        mc(subject="Chemistry", dataset="d1"),
        mc(subject="Chemistry", dataset="d1"),
        mc(subject="Physics", dataset="d2"),
        oe(subject="Physics", dataset="d2"),
    ]
    rows = [(str(i), doc, pred) for i, (doc, pred) in enumerate(zip(docs, ["B", "C", "B", "x"], strict=True))]
    metrics = aggregate(score_rows(rows))
    assert (metrics["accuracy"], metrics["n_scored"], metrics["n_skipped"], metrics["n_judge_failed"]) == (
        pytest.approx(200 / 3),
        3,
        1,
        0,
    )
    assert metrics["by_subject"]["Chemistry"]["accuracy"] == 50.0
    assert metrics["by_subject"]["Physics"] == {
        "accuracy": 100.0,
        "n": 2,
        "n_scored": 1,
        "n_correct": 1,
        "n_skipped": 1,
        "n_judge_failed": 0,
    }
    assert metrics["by_problem_type"]["open-ended"]["accuracy"] is None
    assert set(metrics["by_dataset"]) == {"d1", "d2"}
    assert "by_skill" not in metrics


def test_prediction_rows_reads_lmms_eval_samples_shapes():
    eval_rows = [mc(problem_id="e0"), oe(problem_id="e1")]
    lines = [
        {"doc_id": 0, "doc": mc(problem_id="inline"), "filtered_resps": ["B"], "target": "B"},
        {"doc_id": 1, "videokr_eval": {**oe(problem_id="metric"), "prediction": "sodium"}, "target": "sodium"},
        {"doc_id": 0, "resps": [["<answer>C</answer>"]], "filtered_resps": "<answer>C</answer>", "target": "B"},
        {**mc(problem_id="plain"), "prediction": "B"},
    ]
    rows = prediction_rows(lines, eval_rows)
    assert [(row_id, pred) for row_id, _, pred in rows] == [
        ("inline", "B"),
        ("metric", "sodium"),
        ("e0", "<answer>C</answer>"),
        ("plain", "B"),
    ]


def test_prediction_rows_reports_lines_it_cannot_use():
    from videokr.errors import DataError

    with pytest.raises(DataError, match=r"line 1.*--eval-file"):
        prediction_rows([{"doc_id": 3, "filtered_resps": "B"}])
    with pytest.raises(DataError, match=r"line 2.*no prediction"):
        prediction_rows([{**mc(), "prediction": "B"}, mc()])


def _write_samples(path, n=6):
    lines = []
    for i in range(n):
        doc = (
            mc(problem_id=f"m{i}", subject="Chemistry", skill="KnowVid")
            if i % 2
            else oe(problem_id=f"o{i}", skill="VidR")
        )
        pred = ("<answer>B</answer>" if i % 4 == 1 else "<answer>A</answer>") if i % 2 else "<answer>sodium</answer>"
        lines.append({"doc_id": i, "doc": doc, "filtered_resps": [pred], "target": doc["solution"]})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_score_samples_without_judge_writes_every_output(tmp_path):
    summary = score_samples(_write_samples(tmp_path / "s.jsonl"), tmp_path / "out")
    out = tmp_path / "out"
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["accuracy"], metrics["n_scored"], metrics["n_skipped"]) == (pytest.approx(200 / 3), 3, 3)
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert [s["id"] for s in scores] == ["o0", "m1", "o2", "m3", "o4", "m5"]
    assert set(scores[0]) == {"id", "correct", "extracted", "mode", "reason"}
    report = (out / "report.md").read_text()
    assert "3 rows skipped" in report and "## By skill" in report
    assert (out / "plots" / "accuracy_by_skill.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary.judge_requests == 0


def test_score_samples_with_judge_rerun_makes_no_calls(tmp_path, stub_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", stub_server.base_url)
    samples = _write_samples(tmp_path / "s.jsonl")
    first = score_samples(samples, tmp_path / "out", judge="openai:good", plots=False)
    assert first.metrics["n_scored"] == 6 and first.metrics["mode"] == "judge"
    # o0/o2/o4 ask the same question, and so do m1/m5: one request each
    assert first.judge_requests == 3 and first.metrics["accuracy"] == pytest.approx(500 / 6)
    second = score_samples(samples, tmp_path / "out", judge="openai:good", plots=False)
    assert second.judge_requests == 0 and second.metrics == first.metrics
    compat = score_samples(samples, tmp_path / "compat", judge="openai:good", style="compat", plots=False)
    assert {body["temperature"] for body in stub_server.state.bodies[-compat.judge_requests :]} == {1.0}


def test_cli_eval_score_prints_summary_and_fails_cleanly(tmp_path, capsys):
    samples = _write_samples(tmp_path / "s.jsonl")
    assert main(["eval", "score", "--samples", str(samples), "--output-dir", str(tmp_path / "o"), "--no-plots"]) == 0
    assert "accuracy 66.7% over 3 scored rows (3 skipped" in capsys.readouterr().out
    assert main(["eval", "score", "--samples", str(tmp_path / "missing.jsonl"), "--output-dir", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "score", "--samples", str(samples), "--output-dir", str(tmp_path), "--judge", "gpt4"]) == 1
