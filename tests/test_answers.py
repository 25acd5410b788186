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


# How models really answer a multiple-choice question inside <answer>: each case names the letter a reader must
# return, or None. Positives first, then articles, pronouns, ruled-out and hedged letters that must not count.
AD, AJ = "ABCD", "ABCDEFGHIJ"


@pytest.mark.parametrize(
    ("text", "letters", "expected"),
    [
        pytest.param("B", AD, "B", id="bare"),
        pytest.param(" b ", AD, "B", id="bare-lower"),
        pytest.param("a", AD, "A", id="bare-lower-a-is-the-whole-answer"),
        pytest.param("(B)", AD, "B", id="paren"),
        pytest.param("[C]", AD, "C", id="bracket"),
        pytest.param("B.", AD, "B", id="dot"),
        pytest.param("B. Sodium", AD, "B", id="label"),
        pytest.param("(B) Sodium", AD, "B", id="paren-label"),
        pytest.param("b) sodium", AD, "B", id="lower-paren-label"),
        pytest.param("C - the flame is green", AD, "C", id="dash-label"),
        pytest.param("B, because the flame is yellow", AD, "B", id="comma-then-reason"),
        pytest.param("B, not A", AD, "B", id="comma-then-ruled-out"),
        pytest.param("**B**", AD, "B", id="markdown-bold"),
        pytest.param("I. Sodium", AJ, "I", id="label-I-with-ten-options"),
        pytest.param("The answer is B", AD, "B", id="answer-is"),
        pytest.param("The correct answer is (C).", AD, "C", id="answer-is-paren"),
        pytest.param("Answer: D", AD, "D", id="answer-colon"),
        pytest.param("answer: c", AD, "C", id="answer-colon-lower"),
        pytest.param("**Answer:** B", AD, "B", id="answer-markdown"),
        pytest.param("The answer would be D.", AD, "D", id="answer-would-be"),
        pytest.param('The answer is "C"', AD, "C", id="answer-quoted"),
        pytest.param("Therefore, the answer is option B.", AD, "B", id="answer-is-option"),
        pytest.param("The correct option is C", AD, "C", id="option-is"),
        pytest.param("Correct option: (d)", AD, "D", id="option-colon-paren-lower"),
        pytest.param("The answer is A because the flame is red", AD, "A", id="answer-A-then-because"),
        pytest.param("I think the answer is B", AD, "B", id="leading-I-think"),
        pytest.param("Answer: I think it's C", AJ, "C", id="answer-then-pronoun-then-its"),
        pytest.param("Option B", AD, "B", id="option"),
        pytest.param("option b", AD, "B", id="option-lower"),
        pytest.param("Sodium (option B)", AD, "B", id="option-in-parens"),
        pytest.param("I'd go with option b.", AD, "B", id="go-with-option-lower"),
        pytest.param("I'd pick B", AD, "B", id="pick"),
        pytest.param("I'd pick B because it burns yellow", AD, "B", id="pick-then-reason"),
        pytest.param("I choose C.", AD, "C", id="choose"),
        pytest.param("I would choose a", AD, "A", id="choose-lower-a-at-end"),
        pytest.param("I select (b)", AD, "B", id="select-paren"),
        pytest.param("I'm going with b", AD, "B", id="going-with"),
        pytest.param("I guess D", AD, "D", id="guess"),
        pytest.param("A person would say D", AD, "D", id="article-then-say"),
        pytest.param("I would say A, because the flame is red", AD, "A", id="say-A-comma"),
        pytest.param("It's C", AD, "C", id="its"),
        pytest.param("I think it is c.", AD, "C", id="it-is-lower"),
        pytest.param("It must be B", AD, "B", id="must-be"),
        pytest.param("C is correct", AD, "C", id="is-correct"),
        pytest.param("I believe B is correct.", AD, "B", id="believe-is-correct"),
        pytest.param("Hence, option C is the correct choice.", AD, "C", id="option-is-the-correct-choice"),
        pytest.param("After a careful look, C", AD, "C", id="last-word"),
        pytest.param("After a careful look, c.", AD, "C", id="last-word-lower"),
        pytest.param("So the flame matches D.", AD, "D", id="last-word-after-verb"),
        pytest.param("Sodium burns yellow -> B", AD, "B", id="last-word-arrow"),
        pytest.param("答案：B", AD, "B", id="last-word-fullwidth-colon"),
        pytest.param("The flame is yellow (B) because of sodium", AD, "B", id="single-paren-anywhere"),
        pytest.param("Yellow flame, so (c)", AD, "C", id="single-paren-lower"),
        pytest.param("A is wrong; the answer is B", AD, "B", id="ruled-out-then-answer"),
        pytest.param("Option A is wrong, so the answer is B", AD, "B", id="answer-beats-ruled-out-option"),
        pytest.param("Not A, it's B", AD, "B", id="not-A-its-B"),
        pytest.param("It can't be B, so it must be D", AD, "D", id="cannot-be-then-must-be"),
        pytest.param("I'd pick B over A", AD, "B", id="pick-over"),
        pytest.param("The answer is B, not C.", AD, "B", id="answer-then-not"),
        pytest.param("The answer is not A but B", AD, "B", id="not-A-but-B"),
        pytest.param("The right answer should be B rather than C", AD, "B", id="rather-than"),
        pytest.param("Between A and C, I choose C", AD, "C", id="between-then-choose"),
        pytest.param("It could be B or C, but I'd say C", AD, "C", id="hedge-then-decide"),
        pytest.param("Options A and B are both wrong, so C", AD, "C", id="both-wrong-so-C"),
        pytest.param("Option A burns red, option B burns yellow, I pick B", AD, "B", id="mentions-then-pick"),
        pytest.param("F", "ABCDEFGH", "F", id="beyond-d"),
        pytest.param("The answer is I.", AJ, "I", id="answer-I-with-ten-options"),
    ],
)
def test_extract_choice_reads_the_letter_given_as_the_answer(text, letters, expected):
    assert extract_choice(text, letters) == expected


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        pytest.param("F", AD, id="not-an-option"),
        pytest.param("The answer is E", AD, id="answer-not-an-option"),
        pytest.param("I would say E", AD, id="say-not-an-option"),
        pytest.param("I", AD, id="bare-I-not-an-option"),
        pytest.param("I think it is sodium", AJ, id="english-I"),
        pytest.param("It gives a yellow flame", AJ, id="english-a"),
        pytest.param("A yellow flame", AD, id="leading-article"),
        pytest.param("A person would say sodium", AD, id="article-person"),
        pytest.param("I think so", AJ, id="pronoun-I-think"),
        pytest.param("I'm not sure", AJ, id="pronoun-I-m"),
        pytest.param("I am not sure which is correct", AJ, id="pronoun-I-am"),
        pytest.param("The answer is I think sodium", AJ, id="answer-is-pronoun"),
        pytest.param("The answer is: I don't know", AJ, id="answer-is-I-dont"),
        pytest.param("The answer is a yellow flame", AD, id="answer-is-article"),
        pytest.param("Answer: a flame test", AD, id="answer-colon-article"),
        pytest.param("I'd pick a different one", AD, id="pick-article"),
        pytest.param("Let's say a ball is thrown", AD, id="say-article"),
        pytest.param("It's a tough one", AD, id="its-article"),
        pytest.param("What I saw was a flame", AD, id="pronoun-and-article"),
        pytest.param("I see a flame", AD, id="see-a-flame"),
        pytest.param("better than I", AJ, id="than-I"),
        pytest.param("Sodium burns with a bright flame in the US", AD, id="stray-capitals"),
        pytest.param("The answer is A.I. research", AD, id="abbreviation"),
        pytest.param("e.g. sodium", "ABCDE", id="eg"),
        pytest.param("B's flame is yellow and C's is green", AD, id="possessives"),
        pytest.param("A is wrong because it burns red", AD, id="ruled-out-A"),
        pytest.param("A) is wrong", AD, id="ruled-out-label"),
        pytest.param("Option C is incorrect", AD, id="ruled-out-option"),
        pytest.param("Option D doesn't fit", AD, id="option-doesnt-fit"),
        pytest.param("B can be ruled out", AD, id="can-be-ruled-out"),
        pytest.param("I would rule out D", AD, id="rule-out"),
        pytest.param("It isn't D", AD, id="isnt"),
        pytest.param("Not A.", AD, id="not-A"),
        pytest.param("Definitely not C", AD, id="definitely-not"),
        pytest.param("either (A) or (B)", AD, id="two-parens-hedged"),
        pytest.param("It is B or C", AD, id="b-or-c"),
        pytest.param("Both A and C", AD, id="a-and-c"),
        pytest.param("A, B and C are metals", AD, id="list-of-letters"),
        pytest.param("Option A burns red and option B burns yellow", AD, id="two-options-mentioned"),
        pytest.param("Reasons: (a) yellow, (b) bright", AD, id="enumeration"),
        pytest.param("I can't tell, maybe B?", AD, id="question-not-answer"),
        pytest.param("a. sodium", AD, id="lower-dot-is-not-a-label"),
        pytest.param("<b>B</b>", AD, id="html-tag"),
        pytest.param("sodium", AD, id="no-letter"),
        pytest.param("", AD, id="empty"),
        pytest.param("钠", AD, id="unicode"),
        pytest.param("42", AD, id="numeric"),
    ],
)
def test_extract_choice_reads_no_article_pronoun_or_ruled_out_letter(text, letters):
    assert extract_choice(text, letters) is None
