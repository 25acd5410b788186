"""Parity of videokr.prompts with PROTOCOL.md section 3; the expected strings are spelled out here, not imported."""

import doctest

import pytest

import videokr.prompts
from videokr.prompts import render_prompt, render_sft_target
from videokr.records import Sample

# Copied from PROTOCOL.md section 3 by hand.
INSTR = (
    "Please answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, and then give your final answer "
    "between the <answer> and </answer> tags.\n"
)
MC_TAIL = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."
OE_TAIL = "Please provide only your final answer within the <answer>...</answer> tags."

MC_ROW = {
    "problem_id": "p1",
    "problem_type": "multiple choice",
    "question": "  Which element gives this flame colour?  ",
    "options": ["A. Sodium", "  B. Copper ", "", "C. Lithium"],
    "solution": "<answer>A</answer>",
    "think": "<think>The flame is yellow.</think>",
    "video_path": "videos_0001/a.mp4",
}
OE_ROW = {
    "problem_id": "p2",
    "problem_type": "open-ended",
    "question": "<video> What colour is the flame? ",
    "solution": "yellow",
    "think": "Look at it.",
    "video_path": "videos_0001/b.mp4",
}
Q_MC = "Which element gives this flame colour?"
Q_OE = "What colour is the flame?"
OPTS = "A. Sodium\nB. Copper\nC. Lithium"


@pytest.mark.parametrize(
    ("row", "stage", "expected"),
    [
        pytest.param(MC_ROW, "sft", "<video>" + Q_MC + "\n\nOptions:\n" + OPTS + "\n" + INSTR + MC_TAIL, id="sft-mc"),
        pytest.param(OE_ROW, "sft", "<video>" + Q_OE + "\n" + INSTR + OE_TAIL + "\n", id="sft-oe"),
        pytest.param(MC_ROW, "rl", "<video>\n" + Q_MC + "\nOptions:\n" + OPTS + "\n" + INSTR + MC_TAIL, id="rl-mc"),
        pytest.param(OE_ROW, "rl", "<video>\n" + Q_OE + "\n" + INSTR + OE_TAIL, id="rl-oe"),
        pytest.param(MC_ROW, "eval", Q_MC + "\n" + OPTS + "\n" + INSTR + MC_TAIL, id="eval-mc"),
        pytest.param(OE_ROW, "eval", Q_OE + "\n" + INSTR + OE_TAIL, id="eval-oe"),
    ],
)
def test_render_prompt_compat_is_byte_exact_per_stage_and_type(row: dict, stage: str, expected: str) -> None:
    assert render_prompt(Sample.from_raw(row), stage) == expected  # type: ignore[arg-type]


DICT_ROW = {"question": "Q?", "options": {"C": "three", "A": "one", "B": "two"}, "solution": "B", "think": "t"}


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        pytest.param(
            "sft", "<video>Q?\n\nOptions:\nC. three\nA. one\nB. two\n" + INSTR + MC_TAIL, id="sft-given-order"
        ),
        pytest.param("rl", "<video>\nQ?\nOptions:\nA. one\nB. two\nC. three\n" + INSTR + MC_TAIL, id="rl-sorted"),
        pytest.param("eval", "Q?\nA. one\nB. two\nC. three\n" + INSTR + MC_TAIL, id="eval-sorted"),
    ],
)
def test_render_prompt_dict_options_follow_each_stage_order_rule(stage: str, expected: str) -> None:
    assert render_prompt(Sample.from_raw(DICT_ROW), stage) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("Pick one.\nOptions:\nA. x\nB. y", id="options-header"),
        pytest.param("Pick one.\nA. x\nB. y", id="newline-A-dot"),
        pytest.param("Pick one.\nA: x\nB: y", id="newline-A-colon"),
    ],
)
def test_render_prompt_rl_skips_options_block_when_question_lists_them(question: str) -> None:
    sample = Sample.from_raw({"question": question, "options": ["A. x", "B. y"], "solution": "A"})
    assert render_prompt(sample, "rl") == "<video>\n" + question + "\n" + INSTR + MC_TAIL


def test_render_prompt_rl_keeps_options_block_for_inline_letters_without_newline() -> None:
    sample = Sample.from_raw({"question": "Is A. x right?", "options": ["A. x", "B. y"], "solution": "A"})
    assert render_prompt(sample, "rl") == "<video>\nIs A. x right?\nOptions:\nA. x\nB. y\n" + INSTR + MC_TAIL


@pytest.mark.parametrize(
    ("problem_type", "sft_mc", "rl_mc"),
    [
        pytest.param("multiple-choice", True, True, id="hyphen"),
        pytest.param("mcq", True, True, id="mcq"),
        pytest.param("multiple_choice", False, True, id="underscore-is-oe-in-published-sft"),
        pytest.param("open-ended", False, False, id="open-ended"),
    ],
)
def test_render_prompt_without_options_uses_each_stage_type_rule(problem_type: str, sft_mc: bool, rl_mc: bool) -> None:
    sample = Sample.from_raw({"question": "Q?", "problem_type": problem_type, "solution": "x", "think": "t"})
    sft = "<video>Q?\n" + INSTR + (MC_TAIL if sft_mc else OE_TAIL + "\n")
    rl = "<video>\nQ?\n" + INSTR + (MC_TAIL if rl_mc else OE_TAIL)
    assert (render_prompt(sample, "sft"), render_prompt(sample, "rl")) == (sft, rl)


TYPED = {"question": " Q? ", "options": ["A. x", "B. y"], "solution": "A"}
EVAL_MC = "Q?\nA. x\nB. y\n" + INSTR + MC_TAIL
EVAL_OE_WITH_OPTIONS = "Q?\nA. x\nB. y\n" + INSTR + OE_TAIL


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(TYPED, EVAL_MC, id="missing-type-with-options"),
        pytest.param({**TYPED, "options": []}, "Q?\n" + INSTR + OE_TAIL, id="missing-type-without-options"),
        pytest.param({**TYPED, "problem_type": ""}, EVAL_MC, id="empty-type-with-options"),
        pytest.param({**TYPED, "problem_type": None}, EVAL_OE_WITH_OPTIONS, id="null-type-reads-none"),
        pytest.param({**TYPED, "problem_type": " Multiple Choice "}, EVAL_MC, id="spaces-to-hyphens"),
        pytest.param({**TYPED, "problem_type": "mcq"}, EVAL_OE_WITH_OPTIONS, id="mcq-is-open-ended"),
        pytest.param({**TYPED, "problem_type": "essay"}, EVAL_OE_WITH_OPTIONS, id="unknown-type"),
        pytest.param({**TYPED, "question_type": "open-ended"}, EVAL_MC, id="alias-not-read"),
    ],
)
def test_render_prompt_eval_compat_follows_published_type_rule(row: dict, expected: str) -> None:
    # The published eval task shows non-empty options whatever the type, and picks the tail by its own type rule.
    assert render_prompt(Sample.from_raw(row), "eval") == expected


def test_render_prompt_sft_treats_unknown_type_with_options_as_multiple_choice() -> None:
    sample = Sample.from_raw({"question": "Q?", "problem_type": "essay", "options": "A. x\nB. y", "solution": "A"})
    assert render_prompt(sample, "sft") == "<video>Q?\n\nOptions:\nA. x\nB. y\n" + INSTR + MC_TAIL


@pytest.mark.parametrize(
    ("row", "stage", "expected"),
    [
        pytest.param(MC_ROW, "sft", "<video>\n" + Q_MC + "\nOptions:\n" + OPTS + "\n" + INSTR + MC_TAIL, id="sft-mc"),
        pytest.param(MC_ROW, "rl", "<video>\n" + Q_MC + "\nOptions:\n" + OPTS + "\n" + INSTR + MC_TAIL, id="rl-mc"),
        pytest.param(MC_ROW, "eval", Q_MC + "\nOptions:\n" + OPTS + "\n" + INSTR + MC_TAIL, id="eval-mc"),
        pytest.param(OE_ROW, "sft", "<video>\n" + Q_OE + "\n" + INSTR + OE_TAIL, id="sft-oe"),
        pytest.param(OE_ROW, "eval", Q_OE + "\n" + INSTR + OE_TAIL, id="eval-oe"),
        pytest.param(
            DICT_ROW, "sft", "<video>\nQ?\nOptions:\nA. one\nB. two\nC. three\n" + INSTR + MC_TAIL, id="dict"
        ),
    ],
)
def test_render_prompt_unified_uses_one_template_everywhere(row: dict, stage: str, expected: str) -> None:
    assert render_prompt(Sample.from_raw(row), stage, "unified") == expected  # type: ignore[arg-type]


def test_render_sft_target_strips_and_retags_think_and_answer() -> None:
    assert render_sft_target(Sample.from_raw(MC_ROW)) == "<think>The flame is yellow.</think>\n<answer>A</answer>"


def test_render_sft_target_refuses_empty_think() -> None:
    with pytest.raises(ValueError, match="empty think"):
        render_sft_target(Sample.from_raw({**MC_ROW, "think": "<think> </think>"}))


@pytest.mark.parametrize(
    ("stage", "style"), [pytest.param("train", "compat", id="bad-stage"), pytest.param("rl", "fancy", id="bad-style")]
)
def test_render_prompt_rejects_unknown_stage_or_style(stage: str, style: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        render_prompt(Sample.from_raw(MC_ROW), stage, style)  # type: ignore[arg-type]


def test_prompts_doctests_pass() -> None:
    assert doctest.testmod(videokr.prompts).failed == 0
