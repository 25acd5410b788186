"""Score one prediction against one eval row: by rule (multiple choice) or by an LLM judge (PROTOCOL.md section 6)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from videokr.answers import extract_eval_answer, option_letters
from videokr.prompts import read_eval_problem_type
from videokr.records import OPEN_ENDED, RowError, Sample, pick
from videokr.scoring.judge import Judge, build_judge_messages, parse_verdict
from videokr.scoring.rule import compat_choice_correct, predicted_choice

Style = Literal["fixed", "compat"]
Mode = Literal["rule", "judge"]
STYLES: tuple[Style, ...] = ("fixed", "compat")


@dataclass(frozen=True)
class ScoreResult:
    """The verdict on one prediction; `correct` None means not scored (skipped, or the judge kept failing)."""

    correct: bool | None
    extracted: str | None
    mode: Mode
    reason: str

    @property
    def judge_failed(self) -> bool:
        """A judged row without a verdict: counted apart, never as wrong."""
        return self.mode == "judge" and self.correct is None

    @property
    def skipped(self) -> bool:
        """A row not scored by rule and not sent to a judge (e.g. open-ended without a judge)."""
        return self.mode == "rule" and self.correct is None


def score_prediction(
    doc: Mapping[str, Any], prediction: str, *, judge: Judge | None = None, style: Style = "fixed"
) -> ScoreResult:
    """Score `prediction` (the raw model output) against the eval row `doc`.

    "fixed" reads the row through `Sample.from_raw` and matches option letters strictly; "compat" reproduces the
    published evaluator (its problem-type test, its letter rules, judge reply "contains 1").
    """
    if style == "compat":
        return _score_compat(doc, str(prediction), judge)
    if style != "fixed":
        raise ValueError(f"unknown scoring style {style!r}: use one of {STYLES}")
    return _score_fixed(doc, str(prediction), judge)


def _score_fixed(doc: Mapping[str, Any], prediction: str, judge: Judge | None) -> ScoreResult:
    try:
        sample = Sample.from_raw(doc)
    except RowError as exc:
        return ScoreResult(None, None, "rule", f"unusable eval row: {exc}")
    answer = extract_eval_answer(prediction)
    if judge is not None:
        options = "\n".join(sample.options)
        messages = build_judge_messages(sample.problem_type, sample.question, options, sample.solution, answer)
        return _judged(judge, messages, answer, compat=False)
    if sample.problem_type == OPEN_ENDED:
        return ScoreResult(None, answer, "rule", "open-ended: needs a judge (--judge openai:MODEL)")
    truth = predicted_choice(sample.solution, sample.options)
    if truth is None:
        return ScoreResult(None, None, "rule", f"answer {sample.solution!r} names no option letter")
    letter = predicted_choice(answer, sample.options)
    if letter is None:
        valid = option_letters(len(sample.options))
        return ScoreResult(False, None, "rule", f"no option letter ({valid[0]}-{valid[-1]}) in the prediction")
    return ScoreResult(letter == truth, letter, "rule", f"predicted {letter}, answer {truth}")


def _score_compat(doc: Mapping[str, Any], prediction: str, judge: Judge | None) -> ScoreResult:
    # PROTOCOL.md section 8: the published type rule decides rule scoring and the judge prompt alike.
    kind = read_eval_problem_type(doc)
    answer_raw = pick(doc, "solution")
    answer = extract_eval_answer(prediction)
    if judge is not None:
        options_raw = pick(doc, "options") or []
        if isinstance(options_raw, str):
            return ScoreResult(None, answer, "judge", "published evaluator raises TypeError on string options")
        if isinstance(options_raw, Mapping):
            options_raw = [f"{key}. {value}" for key, value in sorted(options_raw.items())]
        options = "\n".join(str(line) for line in options_raw)  # not stripped, empty lines kept
        question = str(pick(doc, "question") or "")  # not stripped in the published evaluator
        messages = build_judge_messages(kind, question, options, str(answer_raw or ""), answer)
        return _judged(judge, messages, answer, compat=True)
    if kind == OPEN_ENDED:
        raw_type = doc.get("problem_type", "")
        return ScoreResult(None, answer, "rule", f"type {raw_type!r} is open-ended (published rule): needs a judge")
    correct, letter = compat_choice_correct(answer, str(answer_raw or ""))
    return ScoreResult(correct, letter, "rule", f"published letter rules: predicted {letter}")


def _judged(judge: Judge, messages: list[dict[str, str]], answer: str, *, compat: bool) -> ScoreResult:
    reply = judge.complete(messages)
    if reply is None:
        return ScoreResult(None, answer, "judge", f"judge {judge.model} failed after retries")
    verdict = parse_verdict(reply, compat=compat)
    if verdict is None:
        return ScoreResult(None, answer, "judge", f"judge reply not 1 or 0: {reply[:60]!r}")
    return ScoreResult(verdict, answer, "judge", f"judge {judge.model} replied {reply.strip()[:20]!r}")
