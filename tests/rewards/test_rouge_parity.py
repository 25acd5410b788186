import random
import string

import pytest
from rouge_score import rouge_scorer

from videokr.rewards.rouge import lcs_length, rouge_f1, rouge_mean_f1, tokenize

WORDS = [
    "flame",
    "flames",
    "burning",
    "burned",
    "sodium",
    "potassium",
    "yellow",
    "violet",
    "lilac",
    "the",
    "a",
    "of",
    "is",
    "was",
    "running",
    "runs",
    "ran",
    "generalization",
    "generalizations",
    "relational",
    "hopefully",
    "agreed",
    "3.14",
    "1,000",
    "42",
    "x2",
    "co-operate",
    "don't",
    "U.S.A.",
    "caresses",
    "ponies",
    "ties",
    "caress",
    "cats",
    "feed",
    "agreed",
    "plastered",
    "bled",
    "motoring",
    "sing",
    "conflated",
    "troubled",
    "sized",
    "hopping",
    "tanned",
    "falling",
    "hissing",
    "fizzed",
    "failing",
    "filing",
    "happy",
    "sky",
    "relate",
    "probate",
    "conformabli",
    "radically",
]
UNICODE = [
    "café",
    "naïve",
    "Ελληνικά",
    "日本語",
    "Straße",
    "İstanbul",
    "KELVIN",
    "ﬁne",
    "½",
    "٣",
    "x²",
    "🔥",
    "\u00a0",
    "\t\n",
]


def _random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return ""
    if kind < 0.15:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 40)))
    if kind < 0.25:
        return " ".join(
            str(rng.choice([rng.randint(0, 10**6), rng.uniform(-100, 100), rng.randint(0, 9)]))
            for _ in range(rng.randint(1, 8))
        )
    pool = WORDS + UNICODE
    return rng.choice([" ", "  ", "\n", ", "]).join(rng.choice(pool) for _ in range(rng.randint(1, 30)))


def test_rouge_f1_equals_rouge_score_on_random_unicode_numeric_text():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rng = random.Random(1234)
    worst = 0.0
    for _ in range(4000):
        target, prediction = _random_text(rng), _random_text(rng)
        if rng.random() < 0.2:
            prediction = target + " " + prediction
        expected = scorer.score(target, prediction)
        got = rouge_f1(target, prediction)
        want = (expected["rouge1"].fmeasure, expected["rouge2"].fmeasure, expected["rougeL"].fmeasure)
        worst = max(worst, *(abs(a - b) for a, b in zip(got, want, strict=True)))
        assert got == want, (target, prediction)
    assert worst == 0.0


def test_tokenize_equals_rouge_score_tokenizer_including_unicode_lowercasing():
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    for text in ["İstanbul KELVIN Kelvin", "ﬁne café", "Running RUNS ran", "", "   ", "a b c", *UNICODE]:
        assert list(tokenize(text)) == scorer._tokenizer.tokenize(text), text


def _lcs_table(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_lcs_length_matches_dynamic_programming_on_random_sequences():
    rng = random.Random(7)
    for _ in range(500):
        a = tuple(rng.choice("abcde") for _ in range(rng.randint(0, 70)))
        b = tuple(rng.choice("abcde") for _ in range(rng.randint(0, 70)))
        assert lcs_length(a, b) == _lcs_table(a, b)


@pytest.mark.parametrize(
    ("target", "prediction", "expected"),
    [
        pytest.param("", "", 0.0, id="both-empty"),
        pytest.param("sodium", "", 0.0, id="empty-prediction"),
        pytest.param("the sodium flame", "the sodium flame", 1.0, id="identical"),
        pytest.param("the sodium flame", "THE SODIUM FLAMES!", 1.0, id="case-punctuation-stemming"),
        pytest.param("sodium", "sodium", 2 / 3, id="one-word-has-no-bigram"),
        pytest.param("red", "blue", 0.0, id="disjoint"),
        pytest.param("日本語", "日本語", 0.0, id="non-ascii-only-has-no-tokens"),
    ],
)
def test_rouge_mean_f1_on_edge_cases(target, prediction, expected):
    assert rouge_mean_f1(target, prediction) == expected
