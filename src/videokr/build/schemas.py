"""The JSON schemas every model step asks for, and the versioned prompts that ask.

A prompt's version is part of every cache key: change a prompt's text, bump its version, and the calls it makes
are asked afresh while every other step keeps its cached answers.
"""

from collections.abc import Mapping, Sequence
from typing import Any

SKILL_DEFINITIONS: dict[str, str] = {
    "VidR": "basic video reasoning: the answer follows from what happens in the video (objects, events, order, "
    "counts, colours), with no outside knowledge",
    "KnowVid": "knowledge-enhanced video perception: recognising in the video something that needs the knowledge "
    "point to name or interpret",
    "KnowVidR": "knowledge-intensive video reasoning: reasoning in several steps that combine what the video shows "
    "with the knowledge point",
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A strict object schema: every property required, nothing else allowed (OpenAI strict mode's rule)."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


_TEXT = {"type": "string", "minLength": 1}
SCENARIOS = _object(
    {
        "scenarios": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": _object({"scenario": _TEXT, "keywords": {"type": "array", "minItems": 1, "items": _TEXT}}),
        }
    }
)
RELEVANCE = _object(
    {"relevant": {"type": "boolean"}, "score": {"type": "number", "minimum": 0, "maximum": 1}, "reason": _TEXT}
)
ITEM = _object(
    {
        "question": _TEXT,
        "problem_type": {"type": "string", "enum": ["multiple choice", "open-ended"]},
        "options": {"type": "array", "items": _TEXT},
        "answer": _TEXT,
        "think": _TEXT,
    }
)
ITEMS = _object({"items": {"type": "array", "minItems": 1, "items": ITEM}})
ANSWER = _object({"answer": {"type": "string"}})
VERDICT = _object({"valid": {"type": "boolean"}, "reason": _TEXT})
BANK_DRAFT = _object(
    {
        "points": {
            "type": "array",
            "minItems": 1,
            "items": _object({"course": _TEXT, "lecture": _TEXT, "name": _TEXT, "definition": _TEXT}),
        }
    }
)

VERSIONS = {
    "bank": "bank-draft/v1",
    "scenarios": "scenarios/v1",
    "relevance-metadata": "relevance-metadata/v1",
    "relevance-frames": "relevance-frames/v1",
    "generate": "generate/v1",
    "solve": "solve/v1",
    "rationale": "rationale/v1",
}

Message = dict[str, Any]


def user(text: str, images: Sequence[str] = ()) -> list[Message]:
    """One user message: the text, then each image (a data URL) as an image part."""
    if not images:
        return [{"role": "user", "content": text}]
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return [{"role": "user", "content": parts}]


def scenarios_prompt(point: Mapping[str, Any], count: int) -> str:
    """Ask for video scenarios and search keywords showing one knowledge point."""
    return (
        f"Knowledge point of {point['subject']} > {point['course']} > {point['lecture']}:\n"
        f"{point['name']}: {point['definition']}\n\n"
        f"Write {count} distinct scenarios (one sentence each) that a short real-world video could show to "
        "illustrate this knowledge point, each with 2-5 search keywords that would find such a video."
    )


def relevance_prompt(point: Mapping[str, Any], scenario: str, video: Mapping[str, Any], frames: bool) -> str:
    """Ask whether a video fits a scenario, from its metadata or from its frames."""
    seen = "the attached frames sampled from the video" if frames else "the video's title and description"
    return (
        f"Knowledge point: {point['name']}: {point['definition']}\nScenario: {scenario}\n"
        f"Video title: {video.get('title', '')}\nVideo description: {str(video.get('description', ''))[:1000]}\n\n"
        f"Judging from {seen}, does this video show the scenario well enough to ask questions about the knowledge "
        "point? Give relevant, a score in [0, 1] and a one-sentence reason."
    )


def generate_prompt(point: Mapping[str, Any], skill: str, seeds: Sequence[Mapping[str, Any]], kind: str) -> str:
    """Ask for one example of `skill` about the attached frames and the knowledge point, guided by seeds."""
    lines = [
        f"Skill {skill}: {SKILL_DEFINITIONS[skill]}.",
        f"Knowledge point: {point['name']}: {point['definition']}",
        "Seed examples of this skill written by experts:",
    ]
    for seed in seeds:
        options = "".join(f"\n  {o}" for o in seed.get("options") or [])
        lines.append(f"- Q: {seed['question']}{options}\n  A: {seed['answer']}")
    lines.append(
        f"Write one new {kind} question of this skill about the attached video frames. It must need the video to "
        "answer (not answerable from the question text alone). For multiple choice give 4 options 'A. ...' to "
        "'D. ...' and the answer letter; otherwise a short answer and an empty options list. Give a step-by-step "
        "rationale (think) that ends at the answer."
    )
    return "\n".join(lines)


def solve_prompt(item: Mapping[str, Any], mode: str) -> str:
    """Ask a solver for the answer, from the question alone or from the attached frame(s)."""
    seen = {
        "text": "You cannot see the video; answer from the question alone, guessing if you must.",
        "frame": "You see one frame of the video.",
        "video": "You see frames sampled from the video.",
    }[mode]
    options = "\n".join(item.get("options") or [])
    tail = "Reply with the option letter only." if options else "Reply with a short answer."
    return f"{seen}\nQuestion: {item['question']}\n{options}\n{tail}".replace("\n\n", "\n")


def rationale_prompt(item: Mapping[str, Any]) -> str:
    """Ask a judge whether a chain of thought is sound and reaches the given answer."""
    options = "\n".join(item.get("options") or [])
    return (
        f"Question: {item['question']}\n{options}\nAnswer: {item['solution']}\nRationale: {item.get('think', '')}\n\n"
        "Is the rationale correct, consistent with the question, and does it reach exactly this answer? "
        "Give valid and a one-sentence reason."
    )


def bank_prompt(subject: str, discipline: str, count: int) -> str:
    """Ask for a draft of knowledge points for experts to edit."""
    return (
        f"Draft {count} knowledge points for the subject {subject} ({discipline or 'any discipline'}), organised as "
        "course > lecture > knowledge point, each with a one-sentence definition. Experts will edit the draft."
    )
