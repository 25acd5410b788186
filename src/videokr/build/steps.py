"""The model steps before generation: scenarios and queries per knowledge point, and video relevance.

Built-in deterministic models stand in where no endpoint is named: `template` scenarios restate a point's name and
definition (its keywords: the name and the subject); `catalog` relevance trusts the catalog's own knowledge_id
(a video is relevant to the scenarios of the point the catalog files it under). Endpoints are asked with the
schemas of videokr.build.schemas.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.build.client import CallRequest, ModelClient
from videokr.build.config import FramesConfig, RelevanceConfig
from videokr.build.schemas import RELEVANCE, SCENARIOS, VERSIONS, relevance_prompt, scenarios_prompt, user

Row = dict[str, Any]


def template_scenarios(points: Sequence[Mapping[str, Any]]) -> list[Row]:
    """One scenario per point from its own text."""
    return [
        {
            "scenario_id": f"{p['id']}-s1",
            "knowledge_id": p["id"],
            "scenario": f"A short video showing {p['name']}: {p['definition']}",
            "keywords": [str(p["name"]), str(p["subject"])],
            "model": "template",
        }
        for p in points
    ]


def endpoint_scenarios(
    points: Sequence[Mapping[str, Any]], client: ModelClient, per_point: int
) -> tuple[list[Row], list[Row]]:
    """Scenarios from an endpoint; (rows, failures)."""
    requests = [
        CallRequest("scenarios", VERSIONS["scenarios"], user(scenarios_prompt(p, per_point)), SCENARIOS, "scenarios")
        for p in points
    ]
    rows, failures = [], []
    for point, result in zip(points, client.call_many(requests), strict=True):
        if not result.ok:
            failures.append(
                {
                    "step": "scenarios",
                    "model": client.endpoint.name,
                    "knowledge_id": point["id"],
                    "error": result.error,
                }
            )
            continue
        for index, scenario in enumerate(result.value["scenarios"][:per_point], 1):
            rows.append(
                {
                    "scenario_id": f"{point['id']}-s{index}",
                    "knowledge_id": point["id"],
                    "scenario": scenario["scenario"],
                    "keywords": scenario["keywords"],
                    "model": client.endpoint.name,
                }
            )
    return rows, failures


def candidate_pairs(videos: Sequence[Mapping[str, Any]], scenarios: Sequence[Mapping[str, Any]]) -> list[Row]:
    """(video, scenario) pairs to judge: a video's own scenario, else its point's scenarios, else every scenario."""
    by_point: dict[str, list[Mapping[str, Any]]] = {}
    for s in scenarios:
        by_point.setdefault(str(s["knowledge_id"]), []).append(s)
    pairs = []
    for video in videos:
        if video.get("scenario_id"):
            chosen = [s for s in scenarios if s["scenario_id"] == video["scenario_id"]]
        elif video.get("knowledge_id"):
            chosen = by_point.get(str(video["knowledge_id"]), [])
        else:
            chosen = list(scenarios)
        pairs += [
            {"video_id": video["video_id"], "scenario_id": s["scenario_id"], "knowledge_id": s["knowledge_id"]}
            for s in chosen
        ]
    return pairs


def catalog_relevance(pairs: Sequence[Mapping[str, Any]], videos: Mapping[str, Mapping[str, Any]]) -> list[Row]:
    """Relevant iff the catalog files the video under the scenario's point (or the scenario found it)."""
    rows = []
    for pair in pairs:
        video = videos[pair["video_id"]]
        filed = video.get("scenario_id") == pair["scenario_id"] or video.get("knowledge_id") == pair["knowledge_id"]
        reason = (
            "the catalog files it under this knowledge point" if filed else "the catalog does not say what it shows"
        )
        rows.append({**pair, "relevant": filed, "score": 1.0 if filed else 0.0, "reason": reason, "model": "catalog"})
    return rows


def endpoint_relevance(
    pairs: Sequence[Mapping[str, Any]],
    context: tuple[Mapping[str, Mapping[str, Any]], Mapping[str, Mapping[str, Any]], Mapping[str, Mapping[str, Any]]],
    client: ModelClient,
    settings: RelevanceConfig,
    frames: tuple[FramesConfig, Path],
) -> tuple[list[Row], list[Row]]:
    """Multi-pass relevance: each pass (metadata, frames) judges the pairs the previous one passed; (rows, failures)."""
    from videokr.build.frames import sample_frames

    videos, scenarios, points = context
    decided: dict[tuple[str, str], Row] = {}
    failures: list[Row] = []
    alive = list(pairs)
    for kind in settings.passes:
        requests = []
        for pair in alive:
            video, scenario = videos[pair["video_id"]], scenarios[pair["scenario_id"]]
            text = relevance_prompt(points[pair["knowledge_id"]], str(scenario["scenario"]), video, kind == "frames")
            images = sample_frames(frames[1] / str(video["video_path"]), frames[0]) if kind == "frames" else []
            requests.append(
                CallRequest("relevance", VERSIONS[f"relevance-{kind}"], user(text, images), RELEVANCE, "relevance")
            )
        survivors = []
        for pair, result in zip(alive, client.call_many(requests), strict=True):
            key = (pair["video_id"], pair["scenario_id"])
            if not result.ok:
                failures.append(
                    {"step": "relevance", "model": client.endpoint.name, **pair, "pass": kind, "error": result.error}
                )
                decided[key] = {
                    **pair,
                    "relevant": False,
                    "score": 0.0,
                    "reason": f"{kind} pass failed: {result.error}",
                }
                continue
            value = result.value
            passed = bool(value["relevant"]) and float(value["score"]) >= settings.min_score
            decided[key] = {
                **pair,
                "relevant": passed,
                "score": value["score"],
                "reason": f"{kind}: {value['reason']}",
            }
            if passed:
                survivors.append(pair)
        alive = survivors
    return [
        {**decided[(p["video_id"], p["scenario_id"])], "model": client.endpoint.name}
        for p in pairs
        if (p["video_id"], p["scenario_id"]) in decided
    ], failures
