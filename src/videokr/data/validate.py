"""`videokr data validate`: every problem of a corpus file as (line, field, message), without stopping early."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from videokr.data.read import read_rows
from videokr.records import (
    RowError,
    RowIssue,
    Severity,
    is_known_problem_type,
    json_type,
    normalize_problem_type,
    normalize_video_path,
    option_letter,
    parse_options,
    pick,
    pick_text,
    raw_video_value,
    strip_answer_tags,
    strip_think_tags,
    strip_video_placeholder,
)

Finding = tuple[str, str, Severity]  # field, message, severity
LABELS = ("problem_id", "subject", "dataset", "skill", "discipline")  # optional text fields


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating one file: row count and every issue, sorted by line."""

    path: str
    rows: int
    issues: tuple[RowIssue, ...]

    @property
    def errors(self) -> int:
        """Number of error-level issues."""
        return sum(issue.severity == "error" for issue in self.issues)

    @property
    def warnings(self) -> int:
        """Number of warning-level issues."""
        return sum(issue.severity == "warning" for issue in self.issues)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.errors == 0


def _error(exc: RowError) -> Finding:
    return exc.field, exc.message, "error"


def _check_question(row: Mapping[str, Any]) -> list[Finding]:
    question = pick(row, "question")
    if question is None:
        return [("question", "missing question (also read as prompt, problem)", "error")]
    if not isinstance(question, str):
        return [("question", f"question must be text, got {json_type(question)}", "error")]
    if not strip_video_placeholder(question):
        return [("question", "question is empty", "error")]
    return []


def _check_choice(row: Mapping[str, Any], answer: str) -> list[Finding]:
    try:
        options = parse_options(pick(row, "options"))
    except RowError as exc:
        return [("options", f"malformed options: {exc.message}", "error")]
    if normalize_problem_type(pick(row, "problem_type"), bool(options)) != "multiple choice":
        return []
    if not options:
        return [("options", "multiple-choice row without options", "error")]
    letters = [option_letter(line) for line in options]
    if None in letters:
        bad = options[letters.index(None)]
        return [("options", f"option line {bad[:40]!r} has no letter label (expected 'A. text')", "error")]
    labels = "".join(letter for letter in letters if letter)
    if len(set(labels)) != len(labels):
        return [("options", f"duplicate option letters {labels}", "error")]
    if answer and (option_letter(answer) or "?") not in labels:
        return [("solution", f"answer {answer[:40]!r} is not one of the option letters {labels}", "error")]
    return []


def _check_answer(row: Mapping[str, Any]) -> list[Finding]:
    try:
        solution = pick_text(row, "solution")
    except RowError as exc:
        return [_error(exc)]
    answer = strip_answer_tags(solution) if solution is not None else ""
    findings: list[Finding] = []
    if not answer:
        findings.append(
            ("solution", "missing or empty answer (also read as answer, correct_answer, ground_truth)", "error")
        )
    return findings + _check_choice(row, answer)


def _check_type(row: Mapping[str, Any]) -> list[Finding]:
    try:
        value = pick_text(row, "problem_type")
    except RowError as exc:
        return [_error(exc)]
    if value is None:
        return [("problem_type", "missing problem_type; inferred from the options", "warning")]
    if not is_known_problem_type(value):
        return [("problem_type", f"unknown problem_type {value[:40]!r}; inferred from the options", "warning")]
    return []


def _is_absolute(path: str) -> bool:
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or path.startswith("\\")


def _check_video(row: Mapping[str, Any]) -> list[Finding]:
    value = pick(row, "video_path")
    try:
        path = raw_video_value(row)
    except RowError as exc:
        return [_error(exc)]
    if path is None or not path.strip():
        return [("video_path", "missing video path", "error")]
    findings: list[Finding] = []
    if isinstance(value, list) and len(value) > 1:
        findings.append(("video_path", f"{len(value)} videos listed; only the first is used", "warning"))
    if _is_absolute(path.strip()):
        findings.append(
            ("video_path", f"absolute video path {path!r}; use a path relative to the video root", "error")
        )
    try:
        normalize_video_path(path)
    except RowError as exc:
        findings.append(("video_path", exc.message, "error"))
    return findings


def _check_think(row: Mapping[str, Any]) -> list[Finding]:
    if not any(key in row for key in ("think", "process")):
        return []
    try:
        think = pick_text(row, "think")
    except RowError as exc:
        return [_error(exc)]
    if think is None or not strip_think_tags(think):
        return [("think", "empty think in a CoT file", "error")]
    return []


def _check_labels(row: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for name in LABELS:
        try:
            pick_text(row, name)
        except RowError as exc:
            findings.append(_error(exc))
    return findings


CHECKS: tuple[Callable[[Mapping[str, Any]], list[Finding]], ...] = (
    _check_question,
    _check_answer,
    _check_type,
    _check_video,
    _check_think,
    _check_labels,
)


def check_row(row: Mapping[str, Any]) -> list[Finding]:
    """Every problem of one raw row that can be seen without the rest of the file."""
    return [finding for check in CHECKS for finding in check(row)]


def validate_file(path: str | os.PathLike[str], progress: bool = True) -> ValidationResult:
    """Check every row of a corpus file; file-level checks: duplicate ids and rows lacking think in a CoT file."""
    issues: list[RowIssue] = []
    first_seen: dict[str, int] = {}
    no_think: list[int] = []
    cot = False
    rows = 0
    for line, row in read_rows(path, progress="validate" if progress else None):
        rows += 1
        if isinstance(row, RowIssue):
            issues.append(row)
            continue
        issues.extend(RowIssue(line, field, message, severity) for field, message, severity in check_row(row))
        if "think" in row or "process" in row:
            cot = True
        else:
            no_think.append(line)
        problem_id = pick(row, "problem_id")
        if problem_id is None:
            issues.append(RowIssue(line, "problem_id", "missing problem_id (also read as id, file_name)", "warning"))
        elif str(problem_id) in first_seen:
            issues.append(
                RowIssue(
                    line, "problem_id", f"duplicate id {problem_id!r} (first on line {first_seen[str(problem_id)]})"
                )
            )
        else:
            first_seen[str(problem_id)] = line
    if cot:
        issues.extend(
            RowIssue(line, "think", "no think in a CoT file (other rows carry think/process)") for line in no_think
        )
    issues.sort(key=lambda issue: issue.line)
    return ValidationResult(path=os.fspath(path), rows=rows, issues=tuple(issues))
