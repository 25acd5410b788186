"""The knowledge bank (subject > course > lecture > knowledge point) and the experts' seed examples.

Both are jsonl files experts edit. Bad input is reported as issues naming the file, the line and the reason (a
duplicate id, an empty definition, broken nesting, a seed with an unknown skill), and every good line is still
used. `draft_bank` asks a model for a draft that experts edit before it becomes a bank.
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from videokr.build.config import SKILL_NAMES
from videokr.errors import DataError
from videokr.explore.review import LineIssue

LEVELS = ("subject", "course", "lecture")


Issue = LineIssue  # one problem of an input file (path, line, reason): the same record the review files report


def read_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    """(line, object) for every non-blank line of a jsonl file; an Issue for a line that is not a JSON object."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source} does not exist")
    with open(source, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, Issue(str(source), number, f"not JSON: {exc.msg}")
                continue
            if not isinstance(value, dict):
                yield number, Issue(str(source), number, f"not a JSON object but {type(value).__name__}")
                continue
            yield number, value


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def _check_point(row: Mapping[str, Any]) -> str:
    """The first problem of one knowledge point, '' when it is sound."""
    if not _text(row, "id"):
        return "missing id"
    missing = [level for level in LEVELS if not _text(row, level)]
    if missing:
        return f"broken nesting: no {', '.join(missing)} (a point sits in subject > course > lecture)"
    if not _text(row, "name"):
        return "missing name"
    if not _text(row, "definition"):
        return "empty definition"
    if "facts" in row and not isinstance(row["facts"], dict):
        return "facts must be an object"
    return ""


def read_bank(path: str | Path) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The sound knowledge points of a bank file and the issues of the others."""
    points: list[dict[str, Any]] = []
    issues: list[Issue] = []
    first: dict[str, int] = {}
    parents: dict[tuple[str, str], tuple[str, int]] = {}  # (level, name) -> (parent, line)
    for line, row in read_objects(path):
        if isinstance(row, Issue):
            issues.append(row)
            continue
        problem = _check_point(row) or _duplicate(row, first) or _nesting(row, parents, line)
        if problem:
            issues.append(Issue(str(path), line, problem))
            continue
        first[_text(row, "id")] = line
        points.append({k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()})
    return points, issues


def _duplicate(row: Mapping[str, Any], first: Mapping[str, int]) -> str:
    point = _text(row, "id")
    return f"duplicate id {point!r} (first on line {first[point]})" if point in first else ""


def _nesting(row: Mapping[str, Any], parents: dict[tuple[str, str], tuple[str, int]], line: int) -> str:
    """A course under two subjects, or a lecture under two courses, is broken nesting."""
    checks = [("course", _text(row, "subject")), ("lecture", f"{_text(row, 'subject')} > {_text(row, 'course')}")]
    for level, parent in checks:
        seen = parents.get((level, _text(row, level)))
        if seen is not None and seen[0] != parent:
            return f"broken nesting: {level} {_text(row, level)!r} is under {seen[0]!r} on line {seen[1]}, here under {parent!r}"
    for level, parent in checks:
        parents.setdefault((level, _text(row, level)), (parent, line))
    return ""


def read_seeds(path: str | Path) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The sound seed examples of a seeds file and the issues of the others."""
    seeds: list[dict[str, Any]] = []
    issues: list[Issue] = []
    first: dict[str, int] = {}
    for line, row in read_objects(path):
        if isinstance(row, Issue):
            issues.append(row)
            continue
        problem = _check_seed(row) or _duplicate(row, first)
        if problem:
            issues.append(Issue(str(path), line, problem))
            continue
        first[_text(row, "id")] = line
        seeds.append(row)
    return seeds, issues


def _check_seed(row: Mapping[str, Any]) -> str:
    if not _text(row, "id"):
        return "missing id"
    if row.get("skill") not in SKILL_NAMES:
        return f"unknown skill {row.get('skill')!r}: expected one of {', '.join(SKILL_NAMES)}"
    for key in ("question", "answer"):
        if not _text(row, key):
            return f"empty {key}"
    options = row.get("options")
    if options is not None and not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
        return "options must be a list of 'A. ...' strings"
    return ""


def draft_points(reply: Mapping[str, Any], subject: str, discipline: str) -> list[dict[str, Any]]:
    """Bank rows (ids numbered in order) from a model's draft reply, marked as drafts for experts to edit."""
    rows = []
    for index, point in enumerate(reply.get("points", []), 1):
        rows.append(
            {
                "id": f"{subject.lower().replace(' ', '-')}-{index:04d}",
                "discipline": discipline,
                "subject": subject,
                **{k: point[k] for k in ("course", "lecture", "name", "definition")},
                "draft": True,
            }
        )
    return rows
