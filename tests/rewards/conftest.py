"""The published reward written from PROTOCOL.md section 5 (a fresh RougeScorer per call), as a test oracle."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from rouge_score import rouge_scorer

PublishedScore = Callable[[str, str, str], dict[str, float]]


def _published_extract(text: str) -> str:
    match = re.search(r"<answer>\s*(.*?)\s*</answer>", text, re.DOTALL)
    return match.group(1).strip() if match else ""


def published_compute_score(solution_str: str, ground_truth: str, problem_type: str, **_: Any) -> dict[str, float]:
    """Section 5 literally: extraction, exact MC match, per-call RougeScorer, full-match format, 0.9 / 0.1."""
    answer, truth = _published_extract(solution_str), _published_extract(ground_truth)
    if problem_type == "multiple choice":
        accuracy = 1.0 if answer == truth else 0.0
    elif problem_type == "open-ended":
        scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
        scores = scorer.score(truth, answer)
        mean = (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure + scores["rougeL"].fmeasure) / 3
        accuracy = min(1.0, max(0.0, mean))
    else:
        accuracy = 0.0
    fmt = 1.0 if re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", solution_str, re.DOTALL) else 0.0
    return {"score": 0.9 * accuracy + 0.1 * fmt, "accuracy": accuracy, "format": fmt}


@pytest.fixture(scope="session")
def published_score() -> PublishedScore:
    """The oracle reward."""
    return published_compute_score
