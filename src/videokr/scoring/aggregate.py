"""Read predictions (lmms-eval samples or eval rows with `prediction`), score them, and count accuracy by group."""

import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from videokr.errors import DataError
from videokr.io import read_jsonl
from videokr.records import RowError, Sample, pick
from videokr.scoring.judge import Judge
from videokr.scoring.score import ScoreResult, Style, score_prediction

logger = logging.getLogger(__name__)

GROUP_FIELDS = ("problem_type", "subject", "dataset", "skill")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScoredRow:
    """One prediction, the labels it is grouped by, and its verdict."""

    id: str
    labels: Mapping[str, str | None]
    result: ScoreResult

    def to_dict(self) -> dict[str, Any]:
        """The scores.jsonl line."""
        r = self.result
        return {"id": self.id, "correct": r.correct, "extracted": r.extracted, "mode": r.mode, "reason": r.reason}


def _first_text(value: Any) -> str | None:
    """The first string inside a (nested) list of responses, or the value itself when it is a string."""
    while isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


def _embedded_doc(line: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """An eval row carried by an lmms-eval samples line: `doc`, or a metric value holding the row's fields."""
    if isinstance(line.get("doc"), Mapping):
        return line["doc"]
    for value in line.values():
        if isinstance(value, Mapping) and pick(value, "solution") is not None:
            return value
    return None


def prediction_rows(
    lines: Iterable[Any], eval_rows: Sequence[Mapping[str, Any]] | None = None, source: str = "samples"
) -> list[tuple[str, Mapping[str, Any], str]]:
    """(id, eval row, raw prediction) for each line of a samples file or of a jsonl of eval rows.

    A line is an eval row with `prediction`, or an lmms-eval samples line (`doc_id`, `filtered_resps` / `resps`)
    whose row is its `doc`, a metric dict holding the row, or `eval_rows[doc_id]` (lmms-eval 0.7 drops `doc`).
    """
    rows: list[tuple[str, Mapping[str, Any], str]] = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, Mapping):
            raise DataError(f"{source} line {number}: expected a JSON object, got {type(line).__name__}")
        doc = _embedded_doc(line)
        doc_id = line.get("doc_id")
        if doc is None and eval_rows is not None and isinstance(doc_id, int) and 0 <= doc_id < len(eval_rows):
            doc = eval_rows[doc_id]
        if doc is None and pick(line, "solution") is not None:
            doc = line
        if doc is None:
            raise DataError(
                f"{source} line {number}: no eval row (no `doc`, no metric dict with an answer, no `answer` field); "
                "pass --eval-file with the eval jsonl to join on doc_id"
            )
        prediction = _first_text(line.get("prediction", doc.get("prediction")))
        if prediction is None:
            prediction = _first_text(line.get("filtered_resps")) or _first_text(line.get("resps"))
        if prediction is None:
            raise DataError(f"{source} line {number}: no prediction (`prediction`, `filtered_resps` or `resps`)")
        row_id = pick(doc, "problem_id") or (doc_id if doc_id is not None else number - 1)
        rows.append((str(row_id), doc, prediction))
    return rows


def read_prediction_rows(
    path: str | Path, eval_file: str | Path | None = None
) -> list[tuple[str, Mapping[str, Any], str]]:
    """Read `path` (and the eval jsonl to join on doc_id) into (id, eval row, prediction) triples."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"samples file {path} does not exist")
    eval_rows = list(read_jsonl(eval_file)) if eval_file is not None else None
    try:
        rows = prediction_rows(read_jsonl(path), eval_rows, source=str(path))
    except ValueError as exc:
        raise DataError(f"{path}: not JSON lines ({exc})") from exc
    if not rows:
        raise DataError(f"{path} holds no predictions")
    return rows


def row_labels(doc: Mapping[str, Any]) -> dict[str, str | None]:
    """The grouping labels of a row: normalised problem type, subject, dataset and skill."""
    try:
        sample = Sample.from_raw(doc)
    except RowError:
        return {"problem_type": UNKNOWN, "subject": None, "dataset": None, "skill": None}
    return {
        "problem_type": sample.problem_type,
        "subject": sample.subject,
        "dataset": sample.dataset,
        "skill": sample.skill,
    }


def score_rows(
    rows: Sequence[tuple[str, Mapping[str, Any], str]],
    *,
    judge: Judge | None = None,
    style: Style = "fixed",
    concurrency: int = 8,
) -> list[ScoredRow]:
    """Score every row (judge calls run `concurrency` at a time), in input order."""

    def one(row: tuple[str, Mapping[str, Any], str]) -> ScoredRow:
        row_id, doc, prediction = row
        return ScoredRow(row_id, row_labels(doc), score_prediction(doc, prediction, judge=judge, style=style))

    workers = max(1, concurrency) if judge is not None else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(one, rows), total=len(rows), desc="scoring", disable=len(rows) < 200))


def summarize(results: Iterable[ScoreResult]) -> dict[str, Any]:
    """Counts and accuracy (percent of scored rows; None when nothing was scored).

    >>> summarize([ScoreResult(True, "B", "rule", ""), ScoreResult(False, "C", "rule", ""),
    ...            ScoreResult(None, None, "rule", "skip"), ScoreResult(None, "x", "judge", "failed")])
    {'accuracy': 50.0, 'n': 4, 'n_scored': 2, 'n_correct': 1, 'n_skipped': 1, 'n_judge_failed': 1}
    """
    results = list(results)
    scored = [r for r in results if r.correct is not None]
    correct = sum(1 for r in scored if r.correct)
    return {
        "accuracy": 100.0 * correct / len(scored) if scored else None,
        "n": len(results),
        "n_scored": len(scored),
        "n_correct": correct,
        "n_skipped": sum(1 for r in results if r.skipped),
        "n_judge_failed": sum(1 for r in results if r.judge_failed),
    }


def aggregate(rows: Sequence[ScoredRow], *, style: Style = "fixed", judge_model: str | None = None) -> dict[str, Any]:
    """metrics.json: overall accuracy and counts, then `by_<field>` breakdowns for the labels present."""
    modes = sorted({row.result.mode for row in rows if row.result.correct is not None})
    metrics: dict[str, Any] = summarize(row.result for row in rows)
    metrics.update({"mode": "+".join(modes) or "none", "style": style, "judge": judge_model})
    for field in GROUP_FIELDS:
        if field != "problem_type" and all(row.labels.get(field) is None for row in rows):
            continue
        groups: dict[str, list[ScoreResult]] = {}
        for row in rows:
            groups.setdefault(row.labels.get(field) or UNKNOWN, []).append(row.result)
        metrics[f"by_{field}"] = {name: summarize(groups[name]) for name in sorted(groups)}
    return metrics
