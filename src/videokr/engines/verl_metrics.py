"""verl's per-step metrics -> `metrics.jsonl` in the stage directory, for the report's plots.

verl 0.9.1's `file` logger (`trainer.logger=[console,file]`) writes one `{"step": N, "data": {...}}` line per step to
`VERL_FILE_LOGGER_PATH`, and truncates that file when a launch starts. So videokr points it at
`<stage>/verl_metrics.raw.jsonl` and folds it into `<stage>/metrics.jsonl` before and after every launch: a resumed
run keeps the steps of the earlier launches, and a re-run step replaces its earlier line.
"""

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.io import read_jsonl, write_jsonl

RAW_METRICS = "verl_metrics.raw.jsonl"
METRICS = "metrics.jsonl"

# The metrics the report plots, by verl 0.9.1's names (others are kept in the file too).
KEY_METRICS = {
    "reward": "critic/score/mean",
    "reward_max": "critic/score/max",
    "kl_loss": "actor/kl_loss",
    "entropy": "actor/entropy",
    "pg_loss": "actor/pg_loss",
    "grad_norm": "actor/grad_norm",
    "response_length": "response_length/mean",
    "step_time_s": "timing_s/step",
    "gen_time_s": "timing_s/gen",
    "old_log_prob_time_s": "timing_s/old_log_prob",
    "ref_time_s": "timing_s/ref",
    "update_time_s": "timing_s/update_actor",
    "reward_time_s": "timing_s/reward",
}


def flatten_record(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """One verl logger line -> `{"step": N, metric: number, ...}`; non-numeric values are dropped.

    >>> flatten_record({"step": 2, "data": {"critic/score/mean": 0.5, "note": "x", "bad": float("nan")}})
    {'step': 2, 'critic/score/mean': 0.5}
    >>> flatten_record({"data": {}}) is None
    True
    """
    step = record.get("step")
    data = record.get("data")
    if not isinstance(step, int) or not isinstance(data, Mapping):
        return None
    row: dict[str, Any] = {"step": step}
    for key, value in data.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            row[str(key)] = value
    return row


def merge_rows(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows by step, sorted; a step present in `new` replaces the same step of `old`.

    >>> merge_rows([{"step": 1, "a": 1}, {"step": 2, "a": 2}], [{"step": 2, "a": 5}, {"step": 3, "a": 3}])
    [{'step': 1, 'a': 1}, {'step': 2, 'a': 5}, {'step': 3, 'a': 3}]
    """
    by_step = {int(row["step"]): dict(row) for row in old}
    by_step.update({int(row["step"]): dict(row) for row in new})
    return [by_step[step] for step in sorted(by_step)]


def read_raw(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The flattened rows of a verl file-logger file (missing file: no rows; a torn last line is ignored)."""
    if not Path(path).is_file():
        return []
    rows = (flatten_record(record) for record in read_jsonl(path) if isinstance(record, Mapping))
    return [row for row in rows if row is not None]


def collect_metrics(stage_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Fold the raw verl log of the last launch into `<stage>/metrics.jsonl`; returns all rows."""
    stage = Path(stage_dir)
    existing = list(read_jsonl(stage / METRICS)) if (stage / METRICS).is_file() else []
    rows = merge_rows(existing, read_raw(stage / RAW_METRICS))
    if rows or existing:
        write_jsonl(stage / METRICS, rows)
    return rows


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """First and last value of the key metrics, for the CLI's one-line summary.

    >>> summarize([{"step": 1, "critic/score/mean": 0.1}, {"step": 2, "critic/score/mean": 0.4}])
    {'steps': 2, 'reward_first': 0.1, 'reward_last': 0.4}
    """
    out: dict[str, Any] = {"steps": len(rows)}
    for name in ("reward", "kl_loss", "response_length"):
        values = [row[KEY_METRICS[name]] for row in rows if KEY_METRICS[name] in row]
        if values:
            out[f"{name}_first"], out[f"{name}_last"] = values[0], values[-1]
    return out


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as JSON lines (for printing)."""
    return "".join(json.dumps(dict(row)) + "\n" for row in rows)
