"""ROUGE-1/2/L F1 exactly as rouge-score computes them (Porter stemmer on), without its per-call overhead.

rouge-score builds a tokenizer and stemmer per `RougeScorer`, stems every token again on every call and fills a
full LCS table. Here one stemmer serves the process, stems are memoised, the tokens of repeated strings (the
ground truth is scored against 8 rollouts) are cached, and the LCS length comes from a bit-parallel scan.
The arithmetic (counts, divisions, the F-measure formula) is rouge-score's own, so values are bit-identical.
"""

import functools
import re
import threading
from collections import Counter
from typing import Any

from videokr.deps import require

# rouge_score.tokenize: lower-case, non-alphanumerics to spaces, split on whitespace, stem words longer than 3
# characters, drop tokens that are not [a-z0-9]+. After the substitution only [a-z0-9] runs and spaces are
# left, so finding the runs directly yields the same pieces.
ALPHANUM_RUN_RE = re.compile(r"[a-z0-9]+")
VALID_TOKEN_RE = re.compile(r"^[a-z0-9]+$")
STEM_CACHE_MAX = 1_000_000

_stemmer: Any = None
_stemmer_lock = threading.Lock()


def _porter() -> Any:
    """The process-wide NLTK Porter stemmer (the one rouge-score uses), built once."""
    global _stemmer
    if _stemmer is None:
        with _stemmer_lock:
            if _stemmer is None:
                _stemmer = require("nltk.stem.porter").PorterStemmer()
    return _stemmer


class _StemCache(dict[str, str]):
    """raw piece -> final token ("" when rouge-score would drop it); misses are stemmed once and remembered."""

    def __missing__(self, raw: str) -> str:
        token = _porter().stem(raw) if len(raw) > 3 else raw
        final = token if VALID_TOKEN_RE.match(token) else ""
        if len(self) >= STEM_CACHE_MAX:
            self.clear()
        self[raw] = final
        return final


_stem_cache = _StemCache()


@functools.lru_cache(maxsize=8192)
def tokenize(text: str) -> tuple[str, ...]:
    """rouge-score's tokens of `text` with the Porter stemmer on.

    >>> tokenize("The flames were burning YELLOW, 589 nm!")
    ('the', 'flame', 'were', 'burn', 'yellow', '589', 'nm')
    """
    return tuple(filter(None, map(_stem_cache.__getitem__, ALPHANUM_RUN_RE.findall(text.lower()))))


def clear_caches() -> None:
    """Forget memoised stems, tokens and n-gram counts (for benchmarks and memory-bound callers)."""
    _stem_cache.clear()
    tokenize.cache_clear()
    _gram_counts.cache_clear()


def fmeasure(precision: float, recall: float) -> float:
    """rouge-score's F-measure (same operations, same rounding)."""
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


@functools.lru_cache(maxsize=8192)
def _gram_counts(tokens: tuple[str, ...], n: int) -> Counter[Any]:
    """n-gram counts of `tokens` (cached: a ground truth is scored against every rollout of its prompt)."""
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*(tokens[i:] for i in range(n)), strict=False))


def _ngram_f1(target: tuple[str, ...], prediction: tuple[str, ...], n: int) -> float:
    """ROUGE-N F1 with rouge-score's clipped counts and max(count, 1) denominators."""
    target_grams = _gram_counts(target, n)
    prediction_grams = _gram_counts(prediction, n)
    small, large = (
        (target_grams, prediction_grams)
        if len(target_grams) <= len(prediction_grams)
        else (prediction_grams, target_grams)
    )
    overlap = 0
    for gram, count in small.items():
        other = large.get(gram)
        if other:
            overlap += min(count, other)
    precision = overlap / max(len(prediction) - n + 1, 1)
    recall = overlap / max(len(target) - n + 1, 1)
    return fmeasure(precision, recall)


def lcs_length(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Length of the longest common subsequence, bit-parallel over `b` (Hyyrö 2004).

    >>> lcs_length(("a", "b", "c", "b"), ("b", "d", "c", "a", "b"))
    3
    """
    masks: dict[str, int] = {}
    for index, token in enumerate(b):
        masks[token] = masks.get(token, 0) | (1 << index)
    full = (1 << len(b)) - 1
    row = full
    for token in a:
        match = row & masks.get(token, 0)
        row = ((row + match) | (row - match)) & full
    return len(b) - row.bit_count()


def _lcs_f1(target: tuple[str, ...], prediction: tuple[str, ...]) -> float:
    """ROUGE-L F1 (rouge-score's `_score_lcs`)."""
    if not target or not prediction:
        return 0.0
    length = lcs_length(target, prediction)
    return fmeasure(length / len(prediction), length / len(target))


def rouge_f1(target: str, prediction: str) -> tuple[float, float, float]:
    """F1 of ROUGE-1, ROUGE-2 and ROUGE-L, equal to `RougeScorer([...], use_stemmer=True).score(target, prediction)`.

    >>> rouge_f1("the yellow flame of sodium", "a yellow sodium flame")
    (0.6666666666666665, 0.0, 0.4444444444444445)
    """
    target_tokens = tokenize(target)
    prediction_tokens = tokenize(prediction)
    return (
        _ngram_f1(target_tokens, prediction_tokens, 1),
        _ngram_f1(target_tokens, prediction_tokens, 2),
        _lcs_f1(target_tokens, prediction_tokens),
    )


def rouge_mean_f1(target: str, prediction: str) -> float:
    """The published open-ended accuracy: mean of the three F1 values, clipped to [0, 1] (PROTOCOL.md section 5).

    A one-word answer has no bigram, so even an exact match scores 2/3 (rouge-score semantics, kept as published):

    >>> rouge_mean_f1("sodium", "Sodium.")
    0.6666666666666666
    >>> rouge_mean_f1("the sodium flame", "The sodium flame")
    1.0
    >>> rouge_mean_f1("sodium", "")
    0.0
    """
    r1, r2, rl = rouge_f1(target, prediction)
    return min(1.0, max(0.0, (r1 + r2 + rl) / 3))
