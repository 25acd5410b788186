"""The prompt protocol of PROTOCOL.md section 3: every stage's user text and the SFT target, in two styles.

`compat` (the default) reproduces the published prompts byte for byte, including their inconsistencies:

- SFT (LLaMA-Factory): `<video>` + question + `\\n\\nOptions:\\n` + options + `\\n` + INSTR + MC_TAIL; open-ended
  rows end with OE_TAIL + `\\n`. A row is multiple choice when its raw type is `multiple choice`,
  `multiple-choice` or `mcq`, or when it has options; dict options keep their given order.
- RL (verl): `<video>\\n` + question + `\\nOptions:\\n` + options + `\\n` + INSTR + tail, the options block left out
  when the question already holds `Options:`, `\\nA.` or `\\nA:`; dict options sorted by key.
- eval (lmms-eval): question + `\\n` + options + `\\n` + INSTR + tail, no `Options:` header, no placeholder
  (lmms-eval passes the video itself); dict options sorted by key; like the published task, the option lines
  are shown whenever a row has them, whatever its type, and the tail follows the published task's own type
  rule (`read_eval_problem_type`, shared with compat scoring).

`unified` uses one template everywhere (the eval text simply has no `<video>` line):

    <video>
    {question}
    Options:
    {A. ...
    B. ...}
    {INSTR}{MC_TAIL or OE_TAIL}

with the type from PROTOCOL.md section 2's normalisation, options sorted by key, and the `Options:` block left
out for open-ended rows, rows without options and questions that already list their options.

Deliberate departures from the published converters in both styles (they only touch malformed rows):
a leading `<video>` in the question is removed (the published SFT converter kept it, giving two
placeholders for one video, which LLaMA-Factory rejects); option lines are always stripped; a
newline-separated options string is split into lines.
"""

from collections.abc import Mapping
from typing import Any, Literal

from videokr.records import MULTIPLE_CHOICE, OPEN_ENDED, ProblemType, Sample, pick

Stage = Literal["sft", "rl", "eval"]
Style = Literal["compat", "unified"]

STAGES: tuple[Stage, ...] = ("sft", "rl", "eval")
STYLES: tuple[Style, ...] = ("compat", "unified")

INSTR = (
    "Please answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, "
    "and then give your final answer between the <answer> and </answer> tags.\n"
)
MC_TAIL = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."
OE_TAIL = "Please provide only your final answer within the <answer>...</answer> tags."
VIDEO_PLACEHOLDER = "<video>"

# The published SFT converter's exact multiple-choice type spellings (lower-cased, stripped).
_SFT_MC_TYPES = frozenset({"multiple choice", "multiple-choice", "mcq"})
# The published RL converter keeps a question's own option list when it contains any of these.
_INLINE_OPTION_MARKERS = ("Options:", "\nA.", "\nA:")


def render_prompt(sample: Sample, stage: Stage, style: Style = "compat") -> str:
    """The user text of `sample` for `stage` ("sft", "rl" or "eval") in `style` ("compat" or "unified")."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    if style == "unified":
        return _render_unified(sample, stage)
    if style != "compat":
        raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(STYLES)}")
    if stage == "sft":
        return _render_sft_compat(sample)
    if stage == "rl":
        return _render_rl_compat(sample)
    return _render_eval_compat(sample)


def render_sft_target(sample: Sample) -> str:
    """The SFT assistant turn: `<think>{think}</think>\\n<answer>{answer}</answer>`.

    >>> s = Sample("1", "multiple choice", "Q?", ("A. x",), solution="A", think="Red.")
    >>> render_sft_target(s)
    '<think>Red.</think>\\n<answer>A</answer>'
    """
    if not sample.think or not sample.solution:
        raise ValueError(f"sample {sample.problem_id!r} has an empty think or answer; SFT needs both")
    return f"<think>{sample.think}</think>\n<answer>{sample.solution}</answer>"


def format_options_compat(value: Any) -> str:
    """The published eval task's `format_options`: the option text its prompt and its type rule see.

    Empty or missing options give ""; a dict gives "key. value" lines sorted by key; a list gives its entries
    stripped but keeps the empty ones; anything else (a string included) raises TypeError, as published.

    >>> format_options_compat([" A. x", " ", "B. y"]), format_options_compat({"B": "y", "A": "x"})
    ('A. x\\n\\nB. y', 'A. x\\nB. y')
    >>> format_options_compat(None), format_options_compat([" "])
    ('', '')
    """
    if not value:
        return ""
    if isinstance(value, Mapping):
        return "\n".join(f"{key}. {value[key]}" for key in sorted(value))
    if isinstance(value, list):
        return "\n".join(str(line).strip() for line in value)
    raise TypeError(f"Unsupported options type: {type(value)}")


def read_eval_problem_type(row: Mapping[str, Any]) -> ProblemType:
    """The problem type the published eval task gives a raw row, in its prompt and in its scoring alike.

    Published rule (`videokr_eval_doc_to_text` and `videokr_eval_process_results`): `str(problem_type)` stripped,
    lower-cased, spaces -> hyphens; exactly "multiple-choice" is multiple choice; a missing or empty type is
    multiple choice when the rendered options are non-empty. Only the `problem_type` key is read, and a null
    value is the text "none", so it is open-ended whatever the options (PROTOCOL.md section 8, eval scorer).

    >>> read_eval_problem_type({"problem_type": "Multiple Choice"}), read_eval_problem_type({"problem_type": "mcq"})
    ('multiple choice', 'open-ended')
    >>> read_eval_problem_type({"options": ["A. x"]}), read_eval_problem_type({"problem_type": "", "options": []})
    ('multiple choice', 'open-ended')
    >>> read_eval_problem_type({"problem_type": None, "options": ["A. x"]})
    'open-ended'
    """
    text = str(row.get("problem_type", "")).strip().lower().replace(" ", "-")
    if not text:
        try:
            has_options = bool(format_options_compat(row.get("option", row.get("options", []))))
        except TypeError:  # the published task crashes on string options; videokr reads them as options
            has_options = True
        return MULTIPLE_CHOICE if has_options else OPEN_ENDED
    return MULTIPLE_CHOICE if text == "multiple-choice" else OPEN_ENDED


def _tail(multiple_choice: bool) -> str:
    return INSTR + (MC_TAIL if multiple_choice else OE_TAIL)


def _has_inline_options(question: str) -> bool:
    return any(marker in question for marker in _INLINE_OPTION_MARKERS)


def _sft_option_lines(sample: Sample) -> tuple[str, ...]:
    # The published SFT converter renders a dict in its given order; RL and eval sort it (Sample.options).
    raw = pick(sample.raw, "options") if sample.raw else None
    if isinstance(raw, dict):
        lines = (f"{key}. {value}".strip() for key, value in raw.items())
        return tuple(line for line in lines if line)
    return sample.options


def _sft_is_multiple_choice(sample: Sample) -> bool:
    if not sample.raw:
        return sample.is_multiple_choice or bool(sample.options)
    raw_type = str(pick(sample.raw, "problem_type") or "").strip().lower()
    return raw_type in _SFT_MC_TYPES or bool(sample.options)


def _render_sft_compat(sample: Sample) -> str:
    options = _sft_option_lines(sample)
    text = VIDEO_PLACEHOLDER + sample.question
    if options:
        text += "\n\nOptions:\n" + "\n".join(options)
    if _sft_is_multiple_choice(sample):
        return text + "\n" + _tail(True)
    return text + "\n" + _tail(False) + "\n"


def _render_rl_compat(sample: Sample) -> str:
    question = sample.question
    if sample.is_multiple_choice and sample.options and not _has_inline_options(question):
        question = question.rstrip() + "\nOptions:\n" + "\n".join(sample.options)
    return VIDEO_PLACEHOLDER + "\n" + question + "\n" + _tail(sample.is_multiple_choice)


def _render_eval_compat(sample: Sample) -> str:
    text = sample.question
    if sample.options:
        text += "\n" + "\n".join(sample.options)
    kind = read_eval_problem_type(sample.raw) if sample.raw else sample.problem_type
    return text + "\n" + _tail(kind == MULTIPLE_CHOICE)


def _render_unified(sample: Sample, stage: Stage) -> str:
    body = sample.question
    if sample.is_multiple_choice and sample.options and not _has_inline_options(body):
        body += "\nOptions:\n" + "\n".join(sample.options)
    body += "\n" + _tail(sample.is_multiple_choice)
    return body if stage == "eval" else VIDEO_PLACEHOLDER + "\n" + body
