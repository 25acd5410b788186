"""Skill-oriented example generation: from a video and its knowledge point, guided by skill definitions and seeds.

Two generators produce the same item rows (VideoKR fields plus item_id, video_id, knowledge_id, model):
- an endpoint model (`generate_requests` + `item_from_reply`): one structured call per (video, point, skill) with
  the planned frames, the skill's definition and up to `seeds_per_prompt` expert seeds of that skill;
- `template`, the built-in generator of the offline demo: it fills the flame-test demo's question templates
  (videokr.data.synth) from a point's `facts` (colour, element, atomic_number). It is not a language model; it
  only knows that demo. It can plant items the quality control must catch: shortcuts (the question names the
  answer) and rationales that do not reach the answer, marked `planted` so the report can count them.
"""

import random
from collections.abc import Mapping, Sequence
from typing import Any

from videokr.build.client import CallRequest
from videokr.build.config import GenerateConfig
from videokr.build.schemas import ITEMS, VERSIONS, generate_prompt, user
from videokr.errors import DataError

LETTERS = "ABCDEFGHIJ"


def item_id(pair: Mapping[str, Any], skill: str, suffix: str = "") -> str:
    """The id of the item a (video, point) pair yields for a skill: deterministic, so a rejected one stays out.

    >>> item_id({"video_id": "local:a.mp4", "knowledge_id": "k1"}, "VidR")
    'local:a.mp4|k1|VidR'
    """
    return f"{pair['video_id']}|{pair['knowledge_id']}|{skill}{suffix}"


def _base(
    pair: Mapping[str, Any], point: Mapping[str, Any], skill: str, model: str, suffix: str = ""
) -> dict[str, Any]:
    identifier = item_id(pair, skill, suffix)
    return {
        "item_id": identifier,
        "problem_id": identifier,
        "video_path": pair["video_path"],
        "subject": point["subject"],
        "discipline": point.get("discipline", ""),
        "skill": skill,
        "knowledge_id": point["id"],
        "video_id": pair["video_id"],
        "model": model,
    }


def _kind(settings: GenerateConfig, pair: Mapping[str, Any], skill: str) -> bool:
    """Whether this item is multiple choice: a coin seeded by the build seed and the item id (stable on re-runs)."""
    return random.Random(f"{settings.seed}|{item_id(pair, skill)}").random() < settings.multiple_choice_fraction


def template_items(
    pairs: Sequence[Mapping[str, Any]], points: Mapping[str, Mapping[str, Any]], settings: GenerateConfig
) -> list[dict[str, Any]]:
    """The demo's items for every pair and skill, then the planted ones."""
    from videokr.data.synth import make_row

    items = []
    for pair in pairs:
        point = points[pair["knowledge_id"]]
        flame = _flame(point)
        for skill in settings.skills:
            rng = random.Random(f"{settings.seed}|{item_id(pair, skill)}|options")
            row = make_row(
                "", flame, skill, _kind(settings, pair, skill), "", rng, with_think=True, option_order="shuffled"
            )
            items.append({**_base(pair, point, skill, "template"), **_fields(row)})
    return items + _planted(pairs, points, settings)


def _fields(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("problem_type", "question", "options", "solution", "think")
    return {k: row[k] for k in keys if k in row}


def _flame(point: Mapping[str, Any]) -> Any:
    from videokr.data.synth import FLAMES, Flame

    facts = point.get("facts") or {}
    if not {"colour", "element", "atomic_number"} <= set(facts):
        raise DataError(
            f"knowledge point {point['id']}: the template generator only knows the flame demo (facts colour, "
            "element, atomic_number); name an endpoint in generate.models for any other bank"
        )
    rgb = next((f.rgb for f in FLAMES if f.colour == facts["colour"]), (128, 128, 128))
    return Flame(str(facts["colour"]), rgb, str(facts["element"]), int(facts["atomic_number"]))


def _planted(
    pairs: Sequence[Mapping[str, Any]], points: Mapping[str, Mapping[str, Any]], settings: GenerateConfig
) -> list[dict[str, Any]]:
    """Shortcut items (the question states the colour) and items whose rationale names another element."""
    from videokr.data.synth import FLAMES, make_row

    planted = []
    for index in range(settings.plant_shortcuts + settings.plant_bad_rationales):
        pair = pairs[index % len(pairs)]
        point, shortcut = points[pair["knowledge_id"]], index < settings.plant_shortcuts
        flame = _flame(point)
        skill = "VidR" if shortcut else "KnowVid"
        rng = random.Random(f"{settings.seed}|planted|{index}")
        row = make_row("", flame, skill, True, "", rng, with_think=True, option_order="shuffled")
        suffix = f"|planted-{index}"
        item = {**_base(pair, point, skill, "template", suffix), **_fields(row)}
        if shortcut:
            item["question"] = f"The flame in this clip burns {flame.colour}. {row['question']}"
            item["planted"] = "shortcut"
        else:
            other = next(f for f in FLAMES if f.colour != flame.colour)
            item["think"] = f"The flame is {other.colour}. A {other.colour} flame indicates {other.element}."
            item["planted"] = "bad-rationale"
        planted.append(item)
    return planted


def pick_seeds(
    seeds: Sequence[Mapping[str, Any]], skill: str, point: Mapping[str, Any], count: int, salt: str
) -> list[Mapping[str, Any]]:
    """Up to `count` seeds of `skill`, those of the point's discipline first, chosen stably per item."""
    same = [s for s in seeds if s["skill"] == skill and s.get("discipline", "") == point.get("discipline", "")]
    other = [s for s in seeds if s["skill"] == skill and s not in same]
    rng = random.Random(salt)
    return (rng.sample(same, min(count, len(same))) + rng.sample(other, len(other)))[:count]


def generate_request(
    pair: Mapping[str, Any],
    point: Mapping[str, Any],
    skill: str,
    seeds: Sequence[Mapping[str, Any]],
    frames: Sequence[str],
    settings: GenerateConfig,
) -> CallRequest:
    """The structured call asking an endpoint for one item of `skill`."""
    kind = "multiple choice" if _kind(settings, pair, skill) else "open-ended"
    chosen = pick_seeds(seeds, skill, point, settings.seeds_per_prompt, item_id(pair, skill))
    text = generate_prompt(point, skill, chosen, kind)
    return CallRequest("generate", VERSIONS["generate"], user(text, frames), ITEMS, "items")


def item_from_reply(
    pair: Mapping[str, Any], point: Mapping[str, Any], skill: str, model: str, value: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """The item row of a validated reply, or None and why it is unusable (an answer that is not an option)."""
    reply = value["items"][0]
    item = {**_base(pair, point, skill, model), "problem_type": reply["problem_type"], "question": reply["question"]}
    item.update(solution=reply["answer"].strip(), think=reply["think"].strip())
    if reply["problem_type"] == "multiple choice":
        options = [o.strip() for o in reply["options"] if o.strip()]
        letters = LETTERS[: len(options)]
        if len(options) < 2 or item["solution"] not in letters:
            return None, f"multiple choice answer {item['solution']!r} is not one of the {len(options)} option letters"
        item["options"] = options
    return item, ""
