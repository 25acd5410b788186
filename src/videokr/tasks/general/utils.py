"""Prompt and answer wrappers around lmms-eval's own general-benchmark functions (Video-MME, MVBench, ...).

Each `videokr_*` task keeps lmms-eval's data, visuals and metrics and changes two things: the prompt ends with
the published think/answer instruction (PROTOCOL.md section 3), and the benchmark's own answer parser sees the
content of `<answer>...</answer>` (PROTOCOL.md section 6), not the whole reasoning. Upstream modules are imported
on first use, inside the eval environment.
"""

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from videokr.answers import extract_eval_answer
from videokr.prompts import INSTR, MC_TAIL, OE_TAIL


def _upstream(bench: str, name: str) -> Any:
    return getattr(importlib.import_module(f"lmms_eval.tasks.{bench}.utils"), name)


def think_answer_prompt(text: str, multiple_choice: bool = True) -> str:
    """`text` followed by the published instruction and the MC or open-ended tail.

    >>> think_answer_prompt("Q?\\nA. x\\nB. y\\n").endswith("B. y\\n" + INSTR + MC_TAIL)
    True
    """
    return text.rstrip("\n") + "\n" + INSTR + (MC_TAIL if multiple_choice else OE_TAIL)


def _is_choice(doc: Mapping[str, Any]) -> bool:
    # VideoMMMU and MMVU mark open-ended rows in `question_type`; the other benchmarks are all multiple choice.
    return str(doc.get("question_type", "multiple-choice")) == "multiple-choice"


def _text(bench: str, name: str, doc: Mapping[str, Any], kwargs: Mapping[str, Any] | None) -> str:
    return think_answer_prompt(_upstream(bench, name)(doc, kwargs), _is_choice(doc))


def _results(bench: str, name: str, doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    answers = [extract_eval_answer(r) if isinstance(r, str) else r for r in results]
    return _upstream(bench, name)(doc, answers)


def videomme_doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """Video-MME prompt + think/answer instruction."""
    return _text("videomme", "videomme_doc_to_text", doc, lmms_eval_specific_kwargs)


def videomme_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """Video-MME scoring of the `<answer>` content."""
    return _results("videomme", "videomme_process_results", doc, results)


def mvbench_doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """MVBench prompt + think/answer instruction."""
    return _text("mvbench", "mvbench_doc_to_text", doc, lmms_eval_specific_kwargs)


def mvbench_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """MVBench scoring of the `<answer>` content."""
    return _results("mvbench", "mvbench_process_results", doc, results)


def longvideobench_doc_to_text(
    doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None
) -> str:
    """LongVideoBench prompt + think/answer instruction."""
    return _text("longvideobench", "longvideobench_doc_to_text", doc, lmms_eval_specific_kwargs)


def longvideobench_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """LongVideoBench scoring of the `<answer>` content."""
    return _results("longvideobench", "longvideobench_process_results", doc, results)


def videommmu_doc_to_text_adaptation(
    doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None
) -> str:
    """VideoMMMU adaptation prompt + think/answer instruction."""
    return _text("videommmu", "videommmu_doc_to_text_adaptation", doc, lmms_eval_specific_kwargs)


def videommmu_doc_to_text_perception_comprehension(
    doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None
) -> str:
    """VideoMMMU perception / comprehension prompt + think/answer instruction."""
    return _text("videommmu", "videommmu_doc_to_text_perception_comprehension", doc, lmms_eval_specific_kwargs)


def videommmu_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """VideoMMMU scoring of the `<answer>` content."""
    return _results("videommmu", "videommmu_process_results", doc, results)


def mmvu_doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """MMVU prompt + think/answer instruction."""
    return _text("mmvu", "mmvu_doc_to_text", doc, lmms_eval_specific_kwargs)


def mmvu_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """MMVU scoring of the `<answer>` content."""
    return _results("mmvu", "mmvu_process_results", doc, results)


def scivideobench_doc_to_text(
    doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None
) -> str:
    """SciVideoBench prompt + think/answer instruction."""
    return _text("scivideobench", "scivideobench_doc_to_text", doc, lmms_eval_specific_kwargs)


def scivideobench_process_results(doc: Mapping[str, Any], results: Sequence[Any]) -> Any:
    """SciVideoBench scoring of the `<answer>` content."""
    return _results("scivideobench", "scivideobench_process_results", doc, results)
