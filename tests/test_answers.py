import pytest

from videokr.answers import (
    extract_choice,
    extract_eval_answer,
    extract_letter_compat,
    extract_reward_answer,
    has_think_answer_format,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<answer>B</answer>", "B", id="plain"),
        pytest.param("<answer>\n  B \t</answer>", "B", id="whitespace"),
        pytest.param("<ANSWER>B</ANSWER>", "", id="upper-case-tags-not-read"),
        pytest.param("<Answer>B</Answer>", "", id="mixed-case-tags-not-read"),
        pytest.param("B", "", id="missing"),
        pytest.param("", "", id="empty"),
        pytest.param("<answer></answer>", "", id="empty-tags"),
        pytest.param("<answer>B", "", id="unclosed"),
        pytest.param("<answer>B</answer> <answer>C</answer>", "B", id="repeated-first"),
        pytest.param("<answer><answer>B</answer></answer>", "<answer>B", id="nested"),
        pytest.param("<answer>钠 (Na)</answer>", "钠 (Na)", id="unicode"),
        pytest.param("<answer>3.14 m/s</answer>", "3.14 m/s", id="numeric"),
        pytest.param("<answer>line one\nline two</answer>", "line one\nline two", id="multiline"),
    ],
)
def test_extract_reward_answer_follows_published_rule(text, expected):
    assert extract_reward_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<answer> B </answer>", "B", id="plain"),
        pytest.param("<ANSWER>B</ANSWER>", "B", id="upper-case-tags-read"),
        pytest.param("<answer></answer>", "<answer></answer>", id="empty-falls-back-to-whole"),
        pytest.param("  no tags here ", "no tags here", id="missing-whole-output"),
        pytest.param("", "", id="empty"),
        pytest.param("<answer>B</answer><answer>C</answer>", "B", id="repeated-first"),
        pytest.param("<answer><answer>B</answer></answer>", "<answer>B", id="nested"),
    ],
)
def test_extract_eval_answer_follows_published_rule(text, expected):
    assert extract_eval_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<think>a</think><answer>B</answer>", True, id="tight"),
        pytest.param("<think>a\nb</think>\n\n <answer>B</answer>", True, id="whitespace-between"),
        pytest.param("<think></think><answer></answer>", True, id="empty-blocks"),
        pytest.param("<think>x</think>y<answer>B</answer>", False, id="text-between"),
        pytest.param(" <think>x</think><answer>B</answer>", False, id="leading-space"),
        pytest.param("<think>x</think><answer>B</answer>\n", False, id="trailing-newline"),
        pytest.param("<answer>B</answer>", False, id="no-think"),
        pytest.param("<think>x</think>", False, id="no-answer"),
        pytest.param("<THINK>x</THINK><ANSWER>B</ANSWER>", False, id="upper-case"),
        pytest.param("<think>a</think>b</think><answer>B</answer>", True, id="second-close-think"),
        pytest.param("<think>x</think><answer>B</answer><answer>C</answer>", True, id="two-answers"),
        pytest.param("<think>x</think>\u2003<answer>B</answer>", True, id="unicode-space"),
    ],
)
def test_has_think_answer_format_equals_published_regex(text, expected):
    import re

    assert has_think_answer_format(text) is expected
    assert (re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", text, re.DOTALL) is not None) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("B", "B", id="bare"),
        pytest.param(" b ", "B", id="lower-whitespace"),
        pytest.param("B. Sodium", "B", id="label-dot"),
        pytest.param("C) Sodium", "C", id="label-paren"),
        pytest.param("D: Sodium", "D", id="label-colon"),
        pytest.param("E] x", "E", id="label-bracket"),
        pytest.param("The answer is c", "C", id="keyword-lower"),
        pytest.param("Answer: D", "D", id="keyword-colon"),
        pytest.param("option is J", "J", id="beyond-d"),
        pytest.param("(B)", "B", id="paren-by-standalone"),
        pytest.param("I think it is sodium", "I", id="defect-english-I"),
        pytest.param("it gives a yellow flame", "A", id="defect-english-a"),
        pytest.param("sodium", None, id="no-letter"),
        pytest.param("", None, id="empty"),
        pytest.param("K", None, id="beyond-j"),
    ],
)
def test_extract_letter_compat_reproduces_published_rules(text, expected):
    assert extract_letter_compat(text) == expected


@pytest.mark.parametrize(
    ("text", "letters", "expected"),
    [
        pytest.param("B", "ABCD", "B", id="bare"),
        pytest.param("b", "ABCD", "B", id="bare-lower"),
        pytest.param("(B)", "ABCD", "B", id="paren"),
        pytest.param("[C]", "ABCD", "C", id="bracket"),
        pytest.param("B.", "ABCD", "B", id="dot"),
        pytest.param("B. Sodium", "ABCD", "B", id="label"),
        pytest.param("(B) Sodium", "ABCD", "B", id="paren-label"),
        pytest.param("**B**", "ABCD", "B", id="markdown-bold"),
        pytest.param("Option B", "ABCD", "B", id="option"),
        pytest.param("The answer is B", "ABCD", "B", id="answer-is"),
        pytest.param("The correct answer is (C).", "ABCD", "C", id="answer-is-paren"),
        pytest.param("Answer: D", "ABCD", "D", id="answer-colon"),
        pytest.param("Option A is wrong, so the answer is B", "ABCD", "B", id="answer-beats-option"),
        pytest.param("The flame is yellow (B) because of sodium", "ABCD", "B", id="single-paren-anywhere"),
        pytest.param("F", "ABCDEFGH", "F", id="beyond-d"),
        pytest.param("F", "ABCD", None, id="not-an-option"),
        pytest.param("I think it is sodium", "ABCDEFGHIJ", None, id="english-I"),
        pytest.param("It gives a yellow flame", "ABCDEFGHIJ", None, id="english-a"),
        pytest.param("A yellow flame", "ABCD", None, id="leading-article"),
        pytest.param("Sodium burns with a bright flame in the US", "ABCD", None, id="stray-capitals"),
        pytest.param("The answer is A.I. research", "ABCD", None, id="abbreviation"),
        pytest.param("either (A) or (B)", "ABCD", None, id="two-parens-ambiguous"),
        pytest.param("", "ABCD", None, id="empty"),
        pytest.param("钠", "ABCD", None, id="unicode"),
        pytest.param("42", "ABCD", None, id="numeric"),
    ],
)
def test_extract_choice_reads_only_option_labels(text, letters, expected):
    assert extract_choice(text, letters) == expected
