"""Benchmark: videokr's compute_score against the published reward (a rouge_score RougeScorer built per call).

Run: .venv/bin/python benchmarks/reward.py [--n 10000] [--seed 0]
Prints the time of each on the same 10,000 mixed multiple-choice / open-ended rollouts, the speed ratio
(target >= 10x) and the maximum absolute score difference (must be 0).
"""

import argparse
import random
import re
import sys
import time
from typing import Any

from rouge_score import rouge_scorer

from videokr.rewards import compute_score
from videokr.rewards.rouge import clear_caches

WORDS = [
    "the",
    "a",
    "of",
    "flame",
    "sodium",
    "potassium",
    "lithium",
    "copper",
    "yellow",
    "violet",
    "crimson",
    "green",
    "burns",
    "emits",
    "light",
    "wavelength",
    "spectrum",
    "589",
    "nm",
    "electrons",
    "excited",
    "energy",
    "level",
    "returns",
    "ground",
    "state",
    "photon",
    "colour",
    "color",
    "test",
    "element",
    "salt",
    "ions",
    "heated",
    "bunsen",
    "burner",
    "observed",
    "video",
    "shows",
    "teacher",
    "experiment",
    "result",
    "therefore",
    "because",
    "answer",
]


def published_compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: Any = None, **kwargs: Any
) -> dict[str, float]:
    """The published reward as PROTOCOL.md section 5 describes it; `format_weight` accepted and ignored."""

    def extract(text: str) -> str:
        match = re.search(r"<answer>\s*(.*?)\s*</answer>", text, re.DOTALL)
        return match.group(1).strip() if match else ""

    answer, truth = extract(solution_str), extract(ground_truth)
    problem_type = (extra_info or {}).get("problem_type", "")
    if problem_type == "multiple choice":
        accuracy = 1.0 if answer == truth else 0.0
    elif problem_type == "open-ended":
        scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
        scores = scorer.score(truth, answer)
        accuracy = min(
            1.0, max(0.0, (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure + scores["rougeL"].fmeasure) / 3)
        )
    else:
        accuracy = 0.0
    fmt = 1.0 if re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", solution_str, re.DOTALL) else 0.0
    return {"score": 0.9 * accuracy + 0.1 * fmt, "accuracy": accuracy, "format": fmt}


def make_rollouts(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rollouts, half multiple choice, in groups of 8 per prompt as GRPO produces them."""
    rng = random.Random(seed)
    rollouts: list[dict[str, Any]] = []
    while len(rollouts) < n:
        is_mc = rng.random() < 0.5
        truth = rng.choice("ABCDEFGH") if is_mc else " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
        for _ in range(8):
            think = " ".join(rng.choices(WORDS, k=rng.randint(20, 120)))
            answer = rng.choice("ABCD") if is_mc else " ".join(rng.choices(WORDS, k=rng.randint(1, 40)))
            if rng.random() < 0.3:
                answer = truth
            response = f"<think>{think}</think>\n<answer>{answer}</answer>" if rng.random() < 0.9 else answer
            rollouts.append(
                {
                    "data_source": "videokr",
                    "solution_str": response,
                    "ground_truth": f"<answer>{truth}</answer>",
                    "extra_info": {"problem_type": "multiple choice" if is_mc else "open-ended"},
                }
            )
    return rollouts[:n]


def main(argv: list[str] | None = None) -> int:
    """Time both rewards on the same rollouts and print the ratio and the largest score difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings each (the machine is shared)")
    args = parser.parse_args(argv)
    rollouts = make_rollouts(args.n, args.seed)
    compute_score(**rollouts[0])  # load the stemmer once, as a verl worker would at its first call

    published_s = ours_s = float("inf")
    for _ in range(args.repeat):
        start = time.process_time()
        published = [published_compute_score(**row) for row in rollouts]
        published_s = min(published_s, time.process_time() - start)
        clear_caches()  # each timing starts cold: no stem, token or n-gram count carried over
        start = time.process_time()
        ours = [compute_score(**row) for row in rollouts]
        ours_s = min(ours_s, time.process_time() - start)

    diff = max(
        abs(a[key] - b[key]) for a, b in zip(published, ours, strict=True) for key in ("score", "accuracy", "format")
    )
    n_oe = sum(row["extra_info"]["problem_type"] == "open-ended" for row in rollouts)
    print(f"rollouts: {len(rollouts)} ({n_oe} open-ended, {len(rollouts) - n_oe} multiple choice)")
    print(f"best of {args.repeat} runs each, CPU time of this process")
    print(f"published (RougeScorer per call): {published_s:.3f} s  ({published_s / len(rollouts) * 1e3:.3f} ms/call)")
    print(f"videokr compute_score:            {ours_s:.3f} s  ({ours_s / len(rollouts) * 1e3:.3f} ms/call)")
    print(f"speed ratio: {published_s / ours_s:.1f}x")
    print(f"max abs difference (score, accuracy, format): {diff}")
    return 0 if diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
