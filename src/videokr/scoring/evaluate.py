"""`videokr eval score`: score a predictions file offline and write metrics.json, report.md, scores.jsonl, plots."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videokr.io import write_jsonl
from videokr.report import write_report
from videokr.scoring.aggregate import aggregate, read_prediction_rows, score_rows
from videokr.scoring.judge import COMPAT_TEMPERATURE, DEFAULT_TEMPERATURE, OpenAIJudge, make_judge
from videokr.scoring.score import STYLES, Style

logger = logging.getLogger(__name__)

JUDGE_CACHE_NAME = "judge_cache.jsonl"


@dataclass(frozen=True)
class ScoreSummary:
    """What `score_samples` wrote and the headline numbers."""

    output_dir: Path
    metrics: dict[str, Any]
    files: list[Path]
    judge_requests: int


def score_samples(
    samples: str | Path,
    output_dir: str | Path,
    *,
    judge: str | None = None,
    style: Style = "fixed",
    eval_file: str | Path | None = None,
    judge_cache: str | Path | None = None,
    judge_temperature: float | None = None,
    judge_base_url: str | None = None,
    concurrency: int = 8,
    judge_retries: int = 5,
    plots: bool = True,
    title: str | None = None,
) -> ScoreSummary:
    """Score every prediction in `samples` and write the report files under `output_dir`.

    The judge (a spec like "openai:gpt-4o") runs at temperature 0, or 1 in compat style as published, and keeps
    its verdicts in `judge_cache` (default DIR/judge_cache.jsonl), so a re-run makes no judge calls.
    """
    if style not in STYLES:
        raise ValueError(f"unknown scoring style {style!r}: use one of {STYLES}")
    out = Path(output_dir)
    rows = read_prediction_rows(samples, eval_file)
    client: OpenAIJudge | None = None
    if judge is not None:
        temperature = judge_temperature
        if temperature is None:
            temperature = COMPAT_TEMPERATURE if style == "compat" else DEFAULT_TEMPERATURE
        client = make_judge(
            judge,
            cache_path=judge_cache or out / JUDGE_CACHE_NAME,
            temperature=temperature,
            base_url=judge_base_url,
            concurrency=concurrency,
            max_retries=judge_retries,
        )
    scored = score_rows(rows, judge=client, style=style, concurrency=concurrency)
    metrics = aggregate(scored, style=style, judge_model=client.model if client else None)
    write_jsonl(out / "scores.jsonl", (row.to_dict() for row in scored))
    files = [out / "scores.jsonl"]
    files += write_report(metrics, out, title=title or f"Evaluation of {Path(samples).name}", plots=plots)
    requests = client.requests_made if client else 0
    logger.info("scored %d rows (%d judge requests)", len(scored), requests)
    return ScoreSummary(out, metrics, files, requests)
