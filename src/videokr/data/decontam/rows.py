"""What decontamination reads from a row: its id, question text, video path and source ids.

Rows go through the project's reader (`videokr.data.read`) and `Sample`; a row that is not a full Sample (a
benchmark row without an answer, a training row with an empty think) is still read field by field with the
same alias rules, since contamination does not depend on the answer.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from videokr.data.decontam.ids import source_ids
from videokr.data.read import Row, read_rows, resolve_video_path
from videokr.records import (
    RowError,
    RowIssue,
    Sample,
    normalize_video_path,
    parse_options,
    pick,
    raw_video_value,
    strip_video_placeholder,
)

Reporter = Callable[[str, str], None]  # (field, reason) of a row problem
# Row id fields of other benchmark layouts (Video-MME, MMVU, ...) when no VideoKR alias is present.
ID_FALLBACKS = ("question_id", "qid", "uid", "sample_id", "index")
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".flv", ".mpg", ".mpeg", ".ts"})


@dataclass(frozen=True)
class RowView:
    """The parts of one row decontamination compares."""

    line: int
    row_id: str
    question: str | None  # None when the row has no question
    options: tuple[str, ...]
    video: str | None  # absolute path, None when the row names no video
    ids: frozenset[str]


@dataclass(frozen=True)
class Issue:
    """A problem with one input row or file: file, line, field, reason (the data stages' skip format)."""

    file: str
    line: int
    field: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}


def read_views(path: Path, video_root: Path | None, issues: list[Issue], progress: str) -> Iterator[RowView]:
    """A RowView per row of `path`; lines that are not rows go to `issues`. Videos resolve under `video_root`
    (PROTOCOL.md section 4), or beside the file when it is None."""
    root = video_root if video_root is not None else path.parent
    for line, row in read_rows(path, progress=progress):
        if isinstance(row, RowIssue):
            issues.append(Issue(os.fspath(path), line, row.field, row.message))
            continue

        def report(field: str, reason: str, line: int = line) -> None:
            issues.append(Issue(os.fspath(path), line, field, reason))

        yield view_row(line, row, root, report)


def view_row(line: int, row: Row, root: Path, report: Reporter) -> RowView:
    """The RowView of one parsed row; unusable fields are reported and left empty."""
    row_id: str
    question: str | None
    options: tuple[str, ...]
    relative: str | None
    try:
        sample = Sample.from_raw(row)
        row_id, question, options, relative = sample.problem_id, sample.question, sample.options, sample.video_path
    except RowError:
        row_id, question, options, relative = _lenient(row, report)
    video = None
    if relative:
        video = relative if "://" in relative else resolve_video_path(root, relative)
    row_id = row_id or next((str(row[key]) for key in ID_FALLBACKS if row.get(key) not in (None, "")), "")
    return RowView(line, row_id or f"line {line}", question, options, video, frozenset(source_ids(row, relative)))


def _lenient(row: Row, report: Reporter) -> tuple[str, str | None, tuple[str, ...], str | None]:
    row_id = pick(row, "problem_id")
    raw_question = pick(row, "question")
    question = strip_video_placeholder(raw_question) or None if isinstance(raw_question, str) else None
    try:
        options = parse_options(pick(row, "options"))
    except RowError:
        options = ()
    relative = None
    try:
        raw = raw_video_value(row)
        relative = normalize_video_path(raw) or None if raw is not None else None
    except RowError as exc:
        report(exc.field, exc.message)
    return (str(row_id) if row_id is not None else ""), question, options, relative


def list_videos(directory: Path) -> list[Path]:
    """Every video file under `directory` (by suffix), sorted."""
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
