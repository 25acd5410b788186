"""Question overlap: normalised word n-gram sets compared by Jaccard similarity, candidates found by MinHash LSH.

Questions are lower-cased, accents and punctuation dropped, and cut into word `ngram`s; benchmark questions go
into a datasketch `MinHashLSH` tuned a little below `threshold`, each training question queries it, and every
candidate is confirmed by the exact Jaccard similarity of the n-gram sets, so the reported score is exact and the
LSH only decides what is compared. When both rows have options, their option sets (labels removed, order
ignored) must overlap by `threshold` too: the same template question with other options asks something else,
and rows sharing only stock options ("Yes", "No") share nothing. Questions shorter than `min_words` (a bare
"What happens next?") are never matched: they say nothing about contamination.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from videokr.deps import require

NON_WORD_RE = re.compile(r"[^\w\s]+")
OPTION_LABEL_RE = re.compile(r"(?m)^\s*\(?[A-Ja-j][.):\]]\s*")


@dataclass(frozen=True)
class QuestionSettings:
    """Thresholds of the question overlap (reported in report.json)."""

    ngram: int = 3
    threshold: float = 0.5  # Jaccard similarity of the n-gram sets
    min_words: int = 6
    num_perm: int = 128

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return asdict(self)


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation or accents.

    >>> normalise("What colour is the FLAME?\\nA. Red")
    ['what', 'colour', 'is', 'the', 'flame', 'a', 'red']
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return NON_WORD_RE.sub(" ", folded).split()


def shingles(words: list[str], n: int) -> set[str]:
    """The word n-grams of `words` (the whole text when it is shorter than n).

    >>> sorted(shingles(["a", "b", "c", "d"], 3))
    ['a b c', 'b c d']
    """
    if len(words) <= n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def option_set(options: Iterable[str]) -> frozenset[str]:
    """Options without letter labels, normalised, as a set.

    >>> sorted(option_set(["B. Iron oxide", "A) soot"]))
    ['iron oxide', 'soot']
    """
    return frozenset(" ".join(normalise(OPTION_LABEL_RE.sub("", option))) for option in options) - {""}


class QuestionIndex:
    """Benchmark question texts in a MinHash LSH; `best` finds the most similar one above the threshold."""

    def __init__(
        self, questions: list[tuple[str, tuple[str, ...]]], settings: QuestionSettings = QuestionSettings()
    ) -> None:
        datasketch = require("datasketch")

        self.settings = settings
        # The LSH band layout is tuned a little below the threshold, so that near-threshold pairs are still
        # proposed; the exact Jaccard decides.
        self.lsh = datasketch.MinHashLSH(threshold=max(0.05, settings.threshold - 0.15), num_perm=settings.num_perm)
        self.sets: list[set[str]] = []
        self.options: list[frozenset[str]] = []
        for key, (question, options) in enumerate(questions):
            grams = self._shingles(question)
            self.sets.append(grams)
            self.options.append(option_set(options))
            if grams:
                self.lsh.insert(key, self._minhash(grams))

    def _minhash(self, grams: set[str]) -> Any:
        datasketch = require("datasketch")

        sketch = datasketch.MinHash(num_perm=self.settings.num_perm)
        sketch.update_batch([gram.encode("utf-8") for gram in grams])
        return sketch

    def _shingles(self, question: str) -> set[str]:
        words = normalise(question)
        return shingles(words, self.settings.ngram) if len(words) >= self.settings.min_words else set()

    def best(self, question: str, options: tuple[str, ...] = ()) -> tuple[int, float] | None:
        """(benchmark question index, Jaccard score) of the closest one at or above the threshold, or None."""
        grams = self._shingles(question)
        if not grams:
            return None
        choices = option_set(options)
        scored = []
        for key in self.lsh.query(self._minhash(grams)):
            score = jaccard(grams, self.sets[key])
            theirs = self.options[key]
            if choices and theirs and jaccard(set(choices), set(theirs)) < self.settings.threshold:
                continue
            if score >= self.settings.threshold:
                scored.append((key, score))
        return max(scored, key=lambda item: (item[1], -item[0])) if scored else None
