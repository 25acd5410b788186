"""Answer extraction shared by the GRPO reward and evaluation scoring (PROTOCOL.md sections 5, 6 and 8).

Two `<answer>` readers exist because the published reward and the published evaluator read tags differently;
both are kept verbatim so that published numbers reproduce. Letter extraction has the published rules
(`extract_letter_compat`, which reads the English words "a" and "I" as options) and a fixed variant
(`extract_choice`) that only accepts a letter written as an option label.
"""

import re

# PROTOCOL.md section 5: the reward's reader is case-sensitive and strips inside the tags.
REWARD_ANSWER_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
# PROTOCOL.md section 6: the evaluator's reader is case-insensitive.
EVAL_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
FORMAT_RE = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
WS_ANSWER_RE = re.compile(r"\s*<answer>")

LETTERS = "ABCDEFGHIJ"

# The published letter rules, tried in order on the upper-cased, stripped text (PROTOCOL.md section 6).
COMPAT_LEADING_RE = re.compile(r"^([A-J])[\)\]\.:\s]")
COMPAT_KEYWORD_RE = re.compile(r"(?:ANSWER|OPTION|CHOICE)\s*(?:IS|:)\s*([A-J])\b")
COMPAT_STANDALONE_RE = re.compile(r"\b([A-J])\b")

# The fixed rules: only letters written as option labels count; "a" and "I" as words never do.
CHOICE_ALONE_RE = re.compile(r"^[\(\[]?\s*([A-Ja-j])\s*[\)\]]?\s*[\.:]?$")
CHOICE_LABEL_RE = re.compile(r"^[\(\[]?([A-J])(?:[\)\]][\.:]?|[\.:])(?:\s|$)")
CHOICE_ANSWER_RE = re.compile(r"(?i:\banswer)(?:\s+(?i:is))?\s*[:：]?\s*[\(\[]?\s*([A-J])\b(?![\.']\w)")
CHOICE_OPTION_RE = re.compile(r"(?i:\b(?:option|choice))(?:\s+(?i:is))?\s*[:：]?\s*[\(\[]?\s*([A-J])\b(?![\.']\w)")
CHOICE_PAREN_RE = re.compile(r"[\(\[]([A-J])[\)\]]")
DECORATION_CHARS = "*_`\"' \t\r\n"


def extract_reward_answer(text: str) -> str:
    """The reward's `<answer>` content: first match, case-sensitive tags, stripped; "" when absent.

    >>> extract_reward_answer("<think>x</think><answer> B </answer>")
    'B'
    >>> extract_reward_answer("<ANSWER>B</ANSWER>")
    ''
    >>> extract_reward_answer("<answer>first</answer><answer>second</answer>")
    'first'
    >>> extract_reward_answer("B")
    ''
    """
    match = REWARD_ANSWER_RE.search(text)
    return match.group(1).strip() if match else ""


def extract_eval_answer(text: str) -> str:
    """The evaluator's prediction: first `<answer>` content (any case), stripped; the whole text when absent or empty.

    >>> extract_eval_answer("<think>...</think><ANSWER> C </ANSWER>")
    'C'
    >>> extract_eval_answer("  The answer is C.  ")
    'The answer is C.'
    >>> extract_eval_answer("<answer>  </answer> fallback")
    '<answer>  </answer> fallback'
    """
    match = EVAL_ANSWER_RE.search(text)
    if match:
        inner = match.group(1).strip()
        if inner:
            return inner
    return text.strip()


def has_think_answer_format(text: str) -> bool:
    """Whether the whole response is `<think>...</think>` then `<answer>...</answer>` (PROTOCOL.md section 5).

    >>> has_think_answer_format("<think>red flame</think>\\n<answer>B</answer>")
    True
    >>> has_think_answer_format("<think>x</think><answer>B</answer> trailing")
    False
    >>> has_think_answer_format("<answer>B</answer>")
    False
    """
    # Same language as FORMAT_RE.fullmatch (tested against it), found with str.find: the lazy DOTALL regex
    # crawls a long think block character by character and is the reward's hottest line.
    if not (text.startswith("<think>") and text.endswith("</answer>")):
        return False
    answer_end = len(text) - len("</answer>")
    start = len("<think>")
    while (close := text.find("</think>", start)) >= 0:
        opening = WS_ANSWER_RE.match(text, close + len("</think>"))
        if opening is not None and opening.end() <= answer_end:
            return True
        start = close + 1
    return False


def extract_letter_compat(text: str) -> str | None:
    """The published letter rules: leading label, "answer/option/choice is X", then any standalone letter.

    Reproduces the published defect: the English words "a" and "I" are read as options (PROTOCOL.md section 8).

    >>> extract_letter_compat("B. Sodium")
    'B'
    >>> extract_letter_compat("The answer is c")
    'C'
    >>> extract_letter_compat("I think it is sodium")
    'I'
    >>> extract_letter_compat("It burns with a yellow flame")
    'A'
    >>> extract_letter_compat("sodium") is None
    True
    """
    upper = text.strip().upper()
    for pattern in (COMPAT_LEADING_RE, COMPAT_KEYWORD_RE, COMPAT_STANDALONE_RE):
        match = pattern.search(upper)
        if match:
            return match.group(1)
    return None


def extract_choice(text: str, letters: str = LETTERS) -> str | None:
    """The option letter a response names, or None; never reads English words or stray capitals as options.

    Accepts a bare letter, a leading label ("(B)", "B.", "B)", "B:"), "The answer is B" / "Answer: B" (the last
    such phrase wins), "Option B" / "choice B", and a single parenthesised letter anywhere. Letters outside
    `letters` (the valid options) give None.

    >>> [extract_choice(t) for t in ["B", "(b)", "B.", "B) Sodium", "**C**", "Option D", "The answer is (E)."]]
    ['B', 'B', 'B', 'B', 'C', 'D', 'E']
    >>> extract_choice("A is wrong; the answer is B")
    'B'
    >>> extract_choice("I think a yellow flame means sodium") is None
    True
    >>> extract_choice("E", letters="ABCD") is None
    True
    """
    body = text.strip(DECORATION_CHARS)
    found = _match_choice(body)
    if found is None:
        return None
    letter = found.upper()
    return letter if letter in letters else None


def _match_choice(body: str) -> str | None:
    """The first fixed rule that names a letter in `body`."""
    for pattern in (CHOICE_ALONE_RE, CHOICE_LABEL_RE):
        match = pattern.match(body)
        if match:
            return match.group(1)
    for pattern in (CHOICE_ANSWER_RE, CHOICE_OPTION_RE):
        matches = pattern.findall(body)
        if matches:
            return str(matches[-1])
    parenthesised = set(CHOICE_PAREN_RE.findall(body))
    return parenthesised.pop() if len(parenthesised) == 1 else None


def option_letters(n_options: int) -> str:
    """The valid letters for `n_options` options (all of A-J when unknown or zero).

    >>> option_letters(4)
    'ABCD'
    >>> option_letters(0)
    'ABCDEFGHIJ'
    """
    return LETTERS[:n_options] if 0 < n_options <= len(LETTERS) else LETTERS
