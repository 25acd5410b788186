"""The review file formats shared with `videokr build review`: export items in, verdicts out (both JSON lines).

An export line is `{"review_id": str, "step": str, "model": str, "item": <any JSON>}`. A verdicts line is
`{"review_id": str, "verdict": "accept" | "reject" | "edit", "item": <edited item, only with "edit">,
"note": str (optional)}`, one line per decided item. The review page writes verdicts; `videokr build review import`
reads them back through `read_verdicts`, which reports every bad line with its file, line number and reason.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from videokr.errors import DataError
from videokr.io import write_jsonl

VerdictKind = Literal["accept", "reject", "edit"]
VERDICTS: tuple[VerdictKind, ...] = ("accept", "reject", "edit")
EXPORT_KEYS = ("review_id", "step", "model", "item")
VERDICT_KEYS = ("review_id", "verdict", "item", "note")


@dataclass(frozen=True)
class LineIssue:
    """One bad line of a review file."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class ReviewFileError(DataError):
    """A review file holds bad lines; `issues` lists every one (file, line, reason)."""

    def __init__(self, issues: list[LineIssue]) -> None:
        self.issues = issues
        shown = "\n".join(f"  {issue}" for issue in issues[:20])
        more = f"\n  ... and {len(issues) - 20} more" if len(issues) > 20 else ""
        super().__init__(f"{len(issues)} bad line(s):\n{shown}{more}")


@dataclass(frozen=True)
class ExportItem:
    """One sample to review: which build step and model produced it, and the sample itself."""

    review_id: str
    step: str
    model: str
    item: Any


@dataclass(frozen=True)
class Verdict:
    """An expert's decision on one exported item; `item` is the edited sample (only for "edit")."""

    review_id: str
    verdict: VerdictKind
    item: Any = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The verdicts-file line."""
        line: dict[str, Any] = {"review_id": self.review_id, "verdict": self.verdict}
        if self.verdict == "edit":
            line["item"] = self.item
        if self.note:
            line["note"] = self.note
        return line


def parse_verdict(value: Any) -> Verdict:
    """A verdict line already decoded from JSON; raises ValueError with the reason when it is malformed.

    >>> parse_verdict({"review_id": "r1", "verdict": "edit", "item": {"q": 1}, "note": "fixed"})
    Verdict(review_id='r1', verdict='edit', item={'q': 1}, note='fixed')
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(VERDICT_KEYS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; a verdict has {', '.join(VERDICT_KEYS)}")
    review_id, verdict, note = value.get("review_id"), value.get("verdict"), value.get("note")
    if not isinstance(review_id, str) or not review_id:
        raise ValueError("review_id must be a non-empty string")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    if verdict == "edit" and "item" not in value:
        raise ValueError('an "edit" verdict needs the edited "item"')
    if verdict != "edit" and "item" in value:
        raise ValueError(f'"item" belongs only to "edit" verdicts, not {verdict!r}')
    if note is not None and not isinstance(note, str):
        raise ValueError(f"note must be a string, got {type(note).__name__}")
    return Verdict(review_id, verdict, value.get("item"), note)


def parse_export_item(value: Any) -> ExportItem:
    """An export line already decoded from JSON; raises ValueError with the reason when it is malformed.

    >>> parse_export_item({"review_id": "r1", "step": "qc", "model": "m", "item": {"question": "?"}}).step
    'qc'
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    missing = [key for key in EXPORT_KEYS if key not in value]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    for key in ("review_id", "step", "model"):
        if not isinstance(value[key], str) or (key == "review_id" and not value[key]):
            raise ValueError(f"{key} must be a {'non-empty ' if key == 'review_id' else ''}string")
    return ExportItem(value["review_id"], value["step"], value["model"], value["item"])


def _read_lines(path: str | Path, parse: Any) -> tuple[list[Any], list[LineIssue]]:
    """Parse each non-blank line of `path` with `parse`; duplicates of a review_id are bad lines too."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"review file {source} does not exist")
    parsed: list[Any] = []
    issues: list[LineIssue] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = parse(json.loads(text))
        except json.JSONDecodeError as exc:
            issues.append(LineIssue(str(source), number, f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        except ValueError as exc:
            issues.append(LineIssue(str(source), number, str(exc)))
            continue
        if record.review_id in seen:
            reason = f"review_id {record.review_id!r} already on line {seen[record.review_id]}"
            issues.append(LineIssue(str(source), number, reason))
            continue
        seen[record.review_id] = number
        parsed.append(record)
    return parsed, issues


def check_verdicts(path: str | Path) -> tuple[list[Verdict], list[LineIssue]]:
    """The good verdicts of a verdicts file and the issues of its bad lines (for callers that keep going)."""
    return _read_lines(path, parse_verdict)


def read_verdicts(path: str | Path) -> list[Verdict]:
    """Every verdict of a verdicts jsonl, in file order; raises ReviewFileError listing each bad line."""
    verdicts, issues = check_verdicts(path)
    if issues:
        raise ReviewFileError(issues)
    return verdicts


def read_export(path: str | Path) -> list[ExportItem]:
    """Every item of a `videokr build review export` file; raises ReviewFileError listing each bad line."""
    items, issues = _read_lines(path, parse_export_item)
    if issues:
        raise ReviewFileError(issues)
    return items


def verdicts_path(export: str | Path) -> Path:
    """Where the verdicts on an export file are saved: FILE.verdicts.jsonl beside it."""
    export = Path(export)
    return export.with_name(export.name + ".verdicts.jsonl")


def save_verdicts(path: str | Path, new: Iterable[Verdict]) -> list[Verdict]:
    """Merge `new` into the verdicts file at `path` (a later verdict on an item replaces the earlier), atomically."""
    target = Path(path)
    merged = {v.review_id: v for v in (read_verdicts(target) if target.is_file() else [])}
    for verdict in new:
        merged[verdict.review_id] = verdict
    write_jsonl(target, (v.to_dict() for v in merged.values()))
    return list(merged.values())
