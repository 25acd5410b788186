"""The outputs of a decontamination: kept.jsonl, contaminated.jsonl, report.json and a readable report.md."""

import json
import os
from pathlib import Path
from typing import Any

from videokr.data.read import read_rows
from videokr.io import atomic_open, write_json, write_text
from videokr.records import RowIssue

KEPT_FILE = "kept.jsonl"
CONTAMINATED_FILE = "contaminated.jsonl"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
EXAMPLES = 20  # contaminated rows shown in report.md
MAX_ISSUES = 1000  # issues listed in report.json (all are counted)


def write_rows(source: Path, output_dir: Path, verdicts: dict[int, list[dict[str, Any]]]) -> tuple[int, int]:
    """Stream `source` again: every row with a verdict goes, unchanged, to kept.jsonl or, with its first
    contamination (plus `also` for the others), to contaminated.jsonl. Returns (kept, contaminated)."""
    kept = contaminated = 0
    with (
        atomic_open(output_dir / KEPT_FILE) as kept_handle,
        atomic_open(output_dir / CONTAMINATED_FILE) as bad_handle,
    ):
        for line, row in read_rows(source, progress="decontaminate: write"):
            if isinstance(row, RowIssue) or line not in verdicts:
                continue
            found = verdicts[line]
            if found:
                contamination = {**found[0], "also": found[1:]} if len(found) > 1 else found[0]
                bad_handle.write(json.dumps({**row, "contamination": contamination}, ensure_ascii=False) + "\n")
                contaminated += 1
            else:
                kept_handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                kept += 1
    return kept, contaminated


def write_report(output_dir: Path, report: dict[str, Any], examples: list[dict[str, Any]]) -> Path:
    """Write report.json and report.md; returns the JSON path."""
    write_json(output_dir / REPORT_JSON, report)
    write_text(output_dir / REPORT_MD, render_markdown(report, examples))
    return output_dir / REPORT_JSON


def render_markdown(report: dict[str, Any], examples: list[dict[str, Any]]) -> str:
    """A human-readable summary of `report` and the first contaminated rows."""
    counts = report["counts"]
    lines = [
        "# Decontamination report",
        "",
        f"Input `{report['input']}`: {counts['rows']} rows; **{counts['contaminated']} contaminated**, "
        f"{counts['kept']} kept ({counts['issues']} issues).",
        "",
        "| reason | rows |",
        "| --- | --- |",
        *(f"| {reason} | {rows} |" for reason, rows in report["by_reason"].items()),
        "",
        "| benchmark | questions | videos |",
        "| --- | --- | --- |",
        *(
            f"| `{b['benchmark']}` | {b.get('rows_with_questions', '-')} | {b.get('videos', '-')} |"
            for b in report["against"]
        ),
        "",
        "## Thresholds",
        "",
        *(
            f"- {group}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            for group, values in report["settings"].items()
        ),
        "",
        "## Hashing",
        "",
        *(
            f"- {side}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            for side, values in report["hashing"].items()
        ),
        "",
        f"## First {min(EXAMPLES, len(examples))} contaminated rows",
        "",
        "| line | row | reason | benchmark | match | detail |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_example_line(example) for example in examples[:EXAMPLES]),
        "",
    ]
    return "\n".join(lines)


def _example_line(example: dict[str, Any]) -> str:
    found = example["contamination"]
    detail = {
        "source_id": lambda: found["source_id"],
        "near_duplicate": lambda: (
            f"{found['seconds']} s at train {found['train_start']} s / benchmark {found['benchmark_start']} s"
        ),
        "question_overlap": lambda: f"Jaccard {found['score']} >= {found['threshold']}",
    }[found["reason"]]()
    benchmark = os.path.basename(found["benchmark"])
    return (
        f"| {example['line']} | {example['row_id']} | {found['reason']} | {benchmark} | {found['match']} | {detail} |"
    )
