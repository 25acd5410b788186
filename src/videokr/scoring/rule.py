"""Rule scoring of multiple-choice predictions: fixed letter matching and the published evaluator's rules."""

import re

from videokr.answers import extract_choice, extract_letter_compat, option_letters
from videokr.records import option_letter

OPTION_TEXT_NORMALIZE_RE = re.compile(r"[\W_]+")


def _normalise_text(text: str) -> str:
    return OPTION_TEXT_NORMALIZE_RE.sub(" ", text.casefold()).strip()


def choice_from_option_text(prediction: str, options: tuple[str, ...]) -> str | None:
    """The letter of the one option whose text the prediction repeats exactly (case and punctuation aside).

    >>> choice_from_option_text("sodium", ("A. Potassium", "B. Sodium"))
    'B'
    >>> choice_from_option_text("metal", ("A. Potassium", "B. Sodium")) is None
    True
    """
    wanted = _normalise_text(prediction)
    if not wanted:
        return None
    hits = set()
    for index, line in enumerate(options):
        letter = option_letter(line) or option_letters(len(options))[index : index + 1]
        body = re.sub(r"^\(?[A-Za-z][.):\]]\s*", "", line.strip())
        if _normalise_text(body) == wanted and letter:
            hits.add(letter)
    return hits.pop() if len(hits) == 1 else None


def predicted_choice(prediction: str, options: tuple[str, ...]) -> str | None:
    """The option letter a prediction names (fixed rules), falling back on an exact option text.

    >>> predicted_choice("The answer is (B).", ("A. K", "B. Na")), predicted_choice("Na", ("A. K", "B. Na"))
    ('B', 'B')
    """
    letters = option_letters(len(options))
    return extract_choice(prediction, letters) or choice_from_option_text(prediction, options)


def compat_choice_correct(prediction: str, answer: str) -> tuple[bool, str | None]:
    """The published rule: both reduced to a letter by the published rules; correct iff both exist and agree.

    >>> compat_choice_correct("I think it is B", "B")
    (False, 'I')
    >>> compat_choice_correct("Answer: b", "<answer>B</answer>")
    (True, 'B')
    """
    got = extract_letter_compat(prediction)
    want = extract_letter_compat(answer)
    return got is not None and got == want, got
