"""Answer extraction shared by the GRPO reward and evaluation scoring (PROTOCOL.md sections 5, 6 and 8).

Two `<answer>` readers exist because the published reward and the published evaluator read tags differently;
both are kept verbatim so that published numbers reproduce. Letter extraction has the published rules
(`extract_letter_compat`, which reads the English words "a" and "I" as options) and a fixed reader
(`extract_choice`, shared by fixed scoring and the reward's `mc_normalize`) that only accepts a letter standing as
the answer: a label, a letter after "answer is" / "option" / "I'd pick" / "I would say", the last word, "(c)".
"""

import re
from dataclasses import dataclass
from typing import Literal

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

# The fixed reader. A letter counts only where it stands as the answer; the tiers below are tried in order.
CHOICE_ALONE_RE = re.compile(r"^[\(\[]?\s*([A-Ja-j])\s*[\)\]]?\s*[\.:]?$")
# "B. Sodium", "(B) Sodium", "B - Sodium", "B, not A", "b) sodium" (a label, never "A person" or "I think").
CHOICE_LABEL_RE = re.compile(r"^[\(\[]?([A-J])(?:[\)\]][\.:]?|[\.:]|\s*[-–—](?=\s)|,(?=\s+[a-z]))(?:\s|$)")
CHOICE_LOWER_LABEL_RE = re.compile(r"^[\(\[]?([a-j])[\)\]](?:\s|$)")
_OPEN = r"[\(\[*_`\"'“‘]{0,2}\s*"
_OPTION_WORD = r"(?:(?:the\s+)?(?:option|choice|letter)\s+)?"
_LINK = r"(?:\s+(?:is|was|(?:would|should|must|will|has\s+to|seems\s+to|might|could|may)\s+be))?\s*[:：=]?\s*"
CHOICE_ANSWER_RE = re.compile(r"\banswer" + _LINK + _OPTION_WORD + _OPEN + r"([A-Ja-j])\b", re.IGNORECASE)
CHOICE_STATEMENT_RE = re.compile(
    r"\b(?:option|choice|letter)(?:\s+(?:is|was|(?:would|should|must|will)\s+be)\s*[:：=]?|\s*[:：=])\s*"
    + _OPEN
    + r"([A-Ja-j])\b",
    re.IGNORECASE,
)
CHOICE_PICK_RE = re.compile(
    r"(?:\b(?:pick|picking|picked|choose|choosing|chose|select|selecting|go\s+with|going\s+with|go\s+for|"
    r"opt\s+for|say|guess|vote\s+for|mark|circle|is|be)|\b(?:it|that)['’]s)\s+"
    + _OPTION_WORD
    + _OPEN
    + r"([A-Ja-j])\b",
    re.IGNORECASE,
)
CHOICE_VERDICT_RE = re.compile(
    r"(?<![\w'’])([A-J])[\)\]]?\s+(?:is|seems|looks)\s+(?:the\s+)?(?:correct|right|best|true|answer)\b"
)
CHOICE_MENTION_RE = re.compile(r"\b(?:option|choice|letter)\s*" + _OPEN + r"([A-Ja-j])\b", re.IGNORECASE)
CHOICE_LAST_RE = re.compile(r"(?:^|[\s,:;=>\-—–→：，])[\(\[*_]{0,2}([A-Ja-j])[\)\]*_]{0,2}[\s.!。]*$")
CHOICE_PAREN_RE = re.compile(r"[\(\[]([A-Ja-j])[\)\]]")
# Context that disqualifies a letter: glued to a word ("A.I.", "B's"), ruled out ("not B", "A is wrong"), or one
# of two ("B or C"). An "A"/"I" or a lower-case letter must also be followed by an end, a mark or a linking
# word, so "A person", "I think" and "a yellow flame" are articles and pronouns, not options.
GLUED_RE = re.compile(r"[.'’\-]\w")
FOLLOWED_OK_RE = re.compile(
    r"[\)\]*_`\"'”’]*\s*(?:$|[.,;:!?。，]|(?:is|was|seems|looks|fits|matches|because|since|as|given|so|but|over|"
    r"instead|rather|here|then|too|and|or)\b)"
)
RULED_OUT_BEFORE_RE = re.compile(
    r"(?:(?:\bnot|n['’]t|\bnever)\s+(?:(?:be|pick|choose|select|say)\s+)?|\b(?:rule|ruled|ruling)\s+out\s+|"
    r"\b(?:eliminate|eliminates|eliminated|eliminating|exclude|excludes|excluded|excluding|except|besides|"
    r"unlike|over|than|against)\s+|\b(?:rather\s+than|instead\s+of)\s+)" + _OPTION_WORD + r"[\(\[*_\"'“]{0,2}\s*$",
    re.IGNORECASE,
)
RULED_OUT_AFTER_RE = re.compile(
    r"[\)\]*_\"'”]*\s*(?:(?:is|are|was|seems|looks|sounds|can|could|should|must|would)\s*)?(?:be\s+)?"
    r"(?:not\b|n['’]t\b|never\b|wrong|incorrect|false|impossible|unlikely|invalid|ruled\s+out|eliminated|"
    r"excluded|out\b|(?:does|do|did)(?:n['’]t|\s+not)\b)",
    re.IGNORECASE,
)
_PARTNER = r"(?:[A-J](?![\w'’])|[a-j](?=\s*(?:$|[\)\].,;:!?])))"
HEDGE_BEFORE_RE = re.compile(
    r"(?<![\w'’])[\(\[]?" + _PARTNER + r"[\)\]]?,?\s+(?i:or|and|and/or)\s+" + _OPTION_WORD + r"[\(\[]?\s*$"
)
HEDGE_AFTER_RE = re.compile(r"[\)\]]?,?\s+(?i:or|and|and/or)\s+" + _OPTION_WORD + r"[\(\[]?" + _PARTNER)
DECORATION_CHARS = "*_`\"' \t\r\n"
CONTEXT_CHARS = 60  # how far around a letter the context rules look (keeps long untagged outputs linear)


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


@dataclass(frozen=True)
class ChoiceRule:
    """One tier of the fixed reader: its patterns (group 1 is the letter) and which qualifying letter it keeps.

    `loose` marks patterns after which no article or pronoun can stand ("option A", "(a)"), so "A" and lower-case
    letters need no mark or linking word after them there.
    """

    name: str
    patterns: tuple[re.Pattern[str], ...]
    keep: Literal["first", "last", "only"]
    loose: bool = False


CHOICE_RULES = (
    ChoiceRule("label", (CHOICE_ALONE_RE, CHOICE_LABEL_RE, CHOICE_LOWER_LABEL_RE), "first", loose=True),
    ChoiceRule("answer", (CHOICE_ANSWER_RE, CHOICE_STATEMENT_RE), "last"),
    ChoiceRule("pick", (CHOICE_PICK_RE, CHOICE_VERDICT_RE), "last"),
    ChoiceRule("mention", (CHOICE_MENTION_RE,), "only", loose=True),
    ChoiceRule("last-word", (CHOICE_LAST_RE,), "first"),
    ChoiceRule("parenthesised", (CHOICE_PAREN_RE,), "only", loose=True),
)


def extract_choice(text: str, letters: str = LETTERS) -> str | None:
    """The option letter a response gives as its answer, or None; never an article, a pronoun or a ruled-out letter.

    Tried in order: the whole text is a label ("B", "(b)", "B. Sodium"); the last "the answer is B" / "Answer: c" /
    "the correct option is C"; the last "I'd pick B" / "I would say D" / "it's C" / "C is correct"; the one letter
    named as "option b"; the last word ("After a careful look, C"); the one parenthesised letter ("(c)"). A letter
    outside `letters` (the row's options), glued to a word ("A.I."), ruled out ("not B", "A is wrong") or offered
    with another ("B or C") is not an answer.

    >>> [extract_choice(t) for t in ["B", "(b)", "B) Sodium", "**C**", "Option D", "The answer is (E)."]]
    ['B', 'B', 'B', 'C', 'D', 'E']
    >>> [extract_choice(t) for t in ["option b", "I'd pick B", "After a careful look, C", "A person would say D"]]
    ['B', 'B', 'C', 'D']
    >>> extract_choice("A is wrong; the answer is B"), extract_choice("A is wrong because it burns red")
    ('B', None)
    >>> extract_choice("I think a yellow flame means sodium") is None
    True
    >>> extract_choice("E", letters="ABCD") is None
    True
    """
    body = text.strip(DECORATION_CHARS)
    for rule in CHOICE_RULES:
        found = _apply_choice_rule(rule, body, letters)
        if found is not None:
            return found
    return None


def _apply_choice_rule(rule: ChoiceRule, body: str, letters: str) -> str | None:
    """The letter `rule` keeps among the letters its patterns find that stand as answers, or None."""
    found = sorted(
        (match.start(1), match.group(1).upper())
        for pattern in rule.patterns
        for match in pattern.finditer(body)
        if _stands_as_answer(body, match.start(1), letters, loose=rule.loose)
    )
    if not found:
        return None
    if rule.keep == "only":
        distinct = {letter for _, letter in found}
        return distinct.pop() if len(distinct) == 1 else None
    return found[0][1] if rule.keep == "first" else found[-1][1]


def _stands_as_answer(body: str, at: int, letters: str, *, loose: bool) -> bool:
    """Whether the letter at `body[at]` is a valid option offered as the answer (see `extract_choice`).

    >>> _stands_as_answer("A person would say D", 0, "ABCD", loose=False)
    False
    >>> _stands_as_answer("not B but C", 4, "ABCD", loose=False), _stands_as_answer("B or C", 0, "ABCD", loose=False)
    (False, False)
    """
    letter, before, after = body[at], body[max(0, at - CONTEXT_CHARS) : at], body[at + 1 : at + 1 + CONTEXT_CHARS]
    if letter.upper() not in letters or GLUED_RE.match(after):
        return False
    if not loose and (letter.islower() or letter in "AI") and not FOLLOWED_OK_RE.match(after):
        return False
    if RULED_OUT_BEFORE_RE.search(before) or RULED_OUT_AFTER_RE.match(after):
        return False
    return not (HEDGE_BEFORE_RE.search(before) or HEDGE_AFTER_RE.match(after))


def option_letters(n_options: int) -> str:
    """The valid letters for `n_options` options (all of A-J when unknown or zero).

    >>> option_letters(4)
    'ABCD'
    >>> option_letters(0)
    'ABCDEFGHIJ'
    """
    return LETTERS[:n_options] if 0 < n_options <= len(LETTERS) else LETTERS
