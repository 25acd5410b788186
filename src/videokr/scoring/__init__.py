"""Evaluation scoring: rule scoring, the LLM judge and its verdict cache, aggregation (PROTOCOL.md section 6)."""

from videokr.scoring.aggregate import (
    ScoredRow,
    aggregate,
    prediction_rows,
    read_prediction_rows,
    score_rows,
    summarize,
)
from videokr.scoring.evaluate import ScoreSummary, score_samples
from videokr.scoring.judge import Judge, JudgeError, OpenAIJudge, make_judge, parse_judge_spec
from videokr.scoring.score import ScoreResult, score_prediction

__all__ = [
    "Judge",
    "JudgeError",
    "OpenAIJudge",
    "ScoreResult",
    "ScoreSummary",
    "ScoredRow",
    "aggregate",
    "make_judge",
    "parse_judge_spec",
    "prediction_rows",
    "read_prediction_rows",
    "score_prediction",
    "score_rows",
    "score_samples",
    "summarize",
]
