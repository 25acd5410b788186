"""Quality control: separate, reported filters, each writing what it dropped and why.

- video dependency: the solver is asked from the question text alone (and, when enabled, from one frame); an item
  it answers right is dropped, since it does not need the video;
- self-consistency: k solver samples with the video must agree with the item's answer (share >= min_agree);
- rationale validation: a judge checks the CoT reaches the answer;
- difficulty band (optional): the target model's pass rate over k tries must fall inside [min_pass, max_pass].

A solver is anything with `answer(items, mode, samples)`; the endpoint solver (any OpenAI-compatible model, a vLLM
server included) sees nothing, one frame or the planned frames. `text-cue` is a deterministic TEXT-ONLY BASELINE,
not a model: it answers a multiple-choice item only when exactly one option's text appears in the question (the
shortcut a leaked answer leaves) and abstains otherwise; it cannot see frames, so with it the single-frame check,
self-consistency and the difficulty band report "not available". The `rule` judge accepts a rationale that states
the answer (the option's text, or the open answer).
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from videokr.build.client import CallRequest, ModelClient
from videokr.build.config import FramesConfig, QCConfig
from videokr.build.schemas import ANSWER, VERDICT, VERSIONS, rationale_prompt, solve_prompt, user
from videokr.scoring.rule import predicted_choice

Mode = Literal["text", "frame", "video"]
Item = dict[str, Any]
WORD_RE = re.compile(r"[\W_]+")


class Solver(Protocol):
    """Answers items; None where it abstains or failed."""

    def answer(
        self, items: Sequence[Item], mode: Mode, samples: int = 1, temperature: float | None = None
    ) -> list[list[str | None]]:
        """`samples` answers per item, seeing nothing but the text (text), one frame, or the planned frames.

        With a `temperature` the samples are drawn (sample k with seed k); without, the solver answers greedily.
        """
        ...

    def can_see(self, mode: Mode) -> bool:
        """Whether this solver can answer in `mode`."""
        ...


class Judge(Protocol):
    """Checks rationales."""

    def check(self, items: Sequence[Item]) -> list[tuple[bool | None, str]]:
        """(valid, reason) per item; None where the judge failed."""
        ...


def _words(text: str) -> str:
    return f" {WORD_RE.sub(' ', text.casefold()).strip()} "


def option_text(line: str) -> str:
    """An option line without its letter.

    >>> option_text("B. sodium")
    'sodium'
    """
    return re.sub(r"^\(?[A-Za-z][.):\]]\s*", "", line.strip())


def is_correct(item: Mapping[str, Any], answer: str | None) -> bool:
    """Whether `answer` is the item's answer: the same option letter, or the same words for an open answer.

    >>> is_correct({"options": ["A. red", "B. green"], "solution": "B"}, "green"), is_correct({"solution": "Sodium."}, "sodium")
    (True, True)
    """
    if answer is None or not answer.strip():
        return False
    options = tuple(item.get("options") or ())
    if options:
        return predicted_choice(answer, options) == item["solution"]
    return _words(answer) == _words(str(item["solution"]))


class TextCueSolver:
    """The text-only baseline (not a model): the one option whose text the question contains, else abstain."""

    def can_see(self, mode: Mode) -> bool:
        """Text only."""
        return mode == "text"

    def answer(
        self, items: Sequence[Item], mode: Mode, samples: int = 1, temperature: float | None = None
    ) -> list[list[str | None]]:
        """The cued letter per item (the same for every sample)."""
        return [[self._one(item) if mode == "text" else None] * samples for item in items]

    @staticmethod
    def _one(item: Mapping[str, Any]) -> str | None:
        question = _words(str(item["question"]))
        options = item.get("options") or []
        hits = [
            line.strip()[0]
            for line in options
            if _words(option_text(line)).strip() and _words(option_text(line)) in question
        ]
        return hits[0] if len(hits) == 1 else None


@dataclass
class EndpointSolver:
    """An OpenAI-compatible model as the solver; frames come from the build's frame plan."""

    client: ModelClient
    frames: FramesConfig
    video_root: Path
    step: str = "qc"
    frame_source: Callable[..., list[str]] | None = None

    def can_see(self, mode: Mode) -> bool:
        """Text always; frames when the endpoint takes images."""
        return mode == "text" or self.client.endpoint.vision

    def answer(
        self, items: Sequence[Item], mode: Mode, samples: int = 1, temperature: float | None = None
    ) -> list[list[str | None]]:
        """`samples` structured answers per item, asked concurrently (sampled: seed k for sample k)."""
        requests = [
            CallRequest(
                self.step,
                VERSIONS["solve"],
                user(solve_prompt(item, mode), self._frames(item, mode)),
                ANSWER,
                "answer",
                k,
                temperature,
                None if temperature is None else k,
            )
            for item in items
            for k in range(samples)
        ]
        results = self.client.call_many(requests)
        flat = [r.value["answer"] if r.ok else None for r in results]
        return [flat[i * samples : (i + 1) * samples] for i in range(len(items))]

    def _frames(self, item: Mapping[str, Any], mode: Mode) -> list[str]:
        if mode == "text":
            return []
        from videokr.build.frames import sample_frames

        source = self.frame_source or sample_frames
        return source(self.video_root / item["video_path"], self.frames, single=mode == "frame")


class RuleJudge:
    """Accepts a rationale that states the answer (the right option's text, or the open answer's words)."""

    def check(self, items: Sequence[Item]) -> list[tuple[bool | None, str]]:
        """(valid, reason) per item."""
        return [self._one(item) for item in items]

    @staticmethod
    def _one(item: Mapping[str, Any]) -> tuple[bool | None, str]:
        think = _words(str(item.get("think", "")))
        if not think.strip():
            return False, "empty rationale"
        answer = str(item["solution"])
        for line in item.get("options") or []:
            if line.strip()[:1] == answer:
                answer = option_text(line)
        if _words(answer) in think:
            return True, "the rationale states the answer"
        return False, f"the rationale never states the answer {answer!r}"


@dataclass
class EndpointJudge:
    """An OpenAI-compatible model judging each rationale."""

    client: ModelClient
    step: str = "qc"

    def check(self, items: Sequence[Item]) -> list[tuple[bool | None, str]]:
        """(valid, reason) per item; None where the call failed."""
        requests = [
            CallRequest(self.step, VERSIONS["rationale"], user(rationale_prompt(i)), VERDICT, "verdict") for i in items
        ]
        return [
            (r.value["valid"], r.value["reason"]) if r.ok else (None, r.error) for r in self.client.call_many(requests)
        ]


@dataclass
class FilterReport:
    """What one filter did."""

    status: str  # ran | disabled | not available: why
    checked: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # what the solver / judge said on each item


def _answers(items: Sequence[Item], got: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{"item_id": item["item_id"], "answers": list(a)} for item, a in zip(items, got, strict=True)]


def video_dependency(items: list[Item], solver: Solver, mode: Mode) -> FilterReport:
    """Drop the items the solver answers right without the video (text) or from one frame."""
    if not solver.can_see(mode):
        return FilterReport(f"not available: the solver cannot answer from {mode}")
    answers = solver.answer(items, mode)
    what = "the question text alone" if mode == "text" else "a single frame"
    dropped = [
        _drop(item, f"answered right from {what} ({got[0]!r})")
        for item, got in zip(items, answers, strict=True)
        if is_correct(item, got[0])
    ]
    return FilterReport("ran", len(items), dropped, _answers(items, answers))


def self_consistency(
    items: list[Item], solver: Solver, samples: int, min_agree: float, temperature: float = 0.7
) -> FilterReport:
    """Drop the items whose solver samples (with the video) agree with the answer less than `min_agree`."""
    if samples <= 0:
        return FilterReport("disabled")
    if not solver.can_see("video"):
        return FilterReport("not available: the solver cannot see the video")
    dropped = []
    answers = solver.answer(items, "video", samples, temperature)
    for item, got in zip(items, answers, strict=True):
        share = sum(is_correct(item, a) for a in got) / samples
        if share < min_agree:
            dropped.append(
                _drop(item, f"{share:.0%} of {samples} solver samples agree with the answer (< {min_agree:.0%})")
            )
    return FilterReport("ran", len(items), dropped, _answers(items, answers))


def rationale(items: list[Item], judge: Judge | None) -> FilterReport:
    """Drop the items whose rationale the judge rejects (or could not judge: never dropped silently, reported)."""
    if judge is None:
        return FilterReport("disabled")
    verdicts = judge.check(items)
    dropped = [
        _drop(item, f"rationale rejected: {reason}" if valid is False else f"rationale not judged: {reason}")
        for item, (valid, reason) in zip(items, verdicts, strict=True)
        if valid is not True
    ]
    return FilterReport("ran", len(items), dropped, _answers(items, verdicts))


def difficulty(items: list[Item], solver: Solver | None, settings: QCConfig) -> FilterReport:
    """Drop the items whose pass rate by the target model falls outside the band."""
    band = settings.difficulty
    if solver is None:
        return FilterReport("disabled")
    if not solver.can_see("video"):
        return FilterReport("not available: the target model cannot see the video")
    dropped = []
    answers = solver.answer(items, "video", band.samples, band.temperature)
    for item, got in zip(items, answers, strict=True):
        rate = sum(is_correct(item, a) for a in got) / band.samples
        if not band.min_pass <= rate <= band.max_pass:
            dropped.append(_drop(item, f"pass rate {rate:.2f} outside [{band.min_pass}, {band.max_pass}]"))
    return FilterReport("ran", len(items), dropped, _answers(items, answers))


def _drop(item: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        "item_id": item["item_id"],
        "reason": reason,
        **({"planted": item["planted"]} if "planted" in item else {}),
    }


def run_filters(
    items: list[Item], settings: QCConfig, solver: Solver, judge: Judge | None, target: Solver | None
) -> tuple[list[Item], dict[str, FilterReport]]:
    """Apply the filters in order, each to what the previous kept; the kept items and each filter's report."""
    steps: list[tuple[str, Callable[[list[Item]], FilterReport]]] = [
        (
            "video-dependency-text",
            lambda xs: (
                video_dependency(xs, solver, "text")
                if settings.video_dependency.text_only
                else FilterReport("disabled")
            ),
        ),
        (
            "video-dependency-frame",
            lambda xs: (
                video_dependency(xs, solver, "frame")
                if settings.video_dependency.single_frame
                else FilterReport("disabled")
            ),
        ),
        (
            "self-consistency",
            lambda xs: self_consistency(
                xs,
                solver,
                settings.self_consistency.samples,
                settings.self_consistency.min_agree,
                settings.self_consistency.temperature,
            ),
        ),
        ("rationale", lambda xs: rationale(xs, judge)),
        ("difficulty", lambda xs: difficulty(xs, target, settings)),
    ]
    reports: dict[str, FilterReport] = {}
    for name, apply in steps:
        report = apply(items) if items else FilterReport("ran")
        reports[name] = report
        gone = {d["item_id"] for d in report.dropped}
        items = [item for item in items if item["item_id"] not in gone]
    return items, reports
