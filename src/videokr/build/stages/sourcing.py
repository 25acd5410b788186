"""The stages up to the relevant videos: bank -> scenarios -> collect -> relevance."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.build.bank import Issue, read_bank, read_seeds
from videokr.build.stages.base import BuildStage, Row, read_points, read_rows, video_root, write_issues
from videokr.errors import ConfigError, DataError
from videokr.io import write_json, write_jsonl
from videokr.run.stage import StageContext


class Bank(BuildStage):
    """Validate the knowledge bank and the seeds: bad lines reported (file, line, reason), the rest kept."""

    name = "bank"

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        found = {"inputs.bank": Path(self.config.inputs.bank)}
        return found | ({"inputs.seeds": Path(self.config.inputs.seeds)} if self.config.inputs.seeds else {})

    def plan(self, ctx: StageContext) -> str:
        return (
            f"validate {self.config.inputs.bank} and {self.config.inputs.seeds or '(no seeds)'} -> {ctx.stage_dir}\n"
        )

    def check(self, ctx: StageContext) -> None:
        if not self.config.inputs.bank:
            raise ConfigError(
                "inputs.bank is empty: name the knowledge bank jsonl (videokr build bank-draft drafts one)"
            )
        super().check(ctx)

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        points, issues = read_bank(self.config.inputs.bank)
        seeds, seed_issues = read_seeds(self.config.inputs.seeds) if self.config.inputs.seeds else ([], [])
        write_issues(ctx.stage_dir / "issues.jsonl", issues + seed_issues)
        if not points:
            raise DataError(
                f"{self.config.inputs.bank}: no usable knowledge point (see {ctx.stage_dir / 'issues.jsonl'})"
            )
        write_jsonl(ctx.stage_dir / "bank.jsonl", points)
        write_jsonl(ctx.stage_dir / "seeds.jsonl", seeds)
        return {"points": len(points), "seeds": len(seeds), "issues": len(issues) + len(seed_issues)}


class Scenarios(BuildStage):
    """Per knowledge point, scenarios and search keywords, per candidate model."""

    name = "scenarios"
    config_keys = ("scenarios", "endpoints", "selected.scenarios")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"knowledge bank (videokr build bank)": ctx.run_dir / "bank" / "bank.jsonl", **self.review_inputs(ctx)}

    def plan(self, ctx: StageContext) -> str:
        return f"scenarios with {', '.join(self.config.scenarios.models)} -> {ctx.stage_dir}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.steps import endpoint_scenarios, template_scenarios

        points, settings = list(read_points(ctx).values()), self.config.scenarios
        clients, per_model, failures = self.clients(ctx), {}, []
        try:
            for model in settings.models:
                if model == "template":
                    per_model[model] = template_scenarios(points)
                else:
                    per_model[model], failed = endpoint_scenarios(points, clients.get(model), settings.per_point)
                    failures += failed
        finally:
            clients.ledger.save()
        write_jsonl(ctx.stage_dir / "failures.jsonl", failures)
        rows = self.finish(ctx, "scenarios", settings.models, per_model, "scenarios")
        return {"scenarios": len(rows), "failures": len(failures)}


class Collect(BuildStage):
    """Videos from the local source (folder or catalog) or from YouTube (yt-dlp, Creative Commons only)."""

    name = "collect"
    config_keys = ("collect",)

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        c = self.config.collect
        if c.source == "youtube":
            found = {"scenarios (videokr build scenarios)": ctx.run_dir / "scenarios" / "scenarios.jsonl"}
            return found | (
                {"collect.youtube.metadata_file": Path(c.youtube.metadata_file)} if c.youtube.metadata_file else {}
            )
        return (
            {"collect.catalog": Path(c.catalog)}
            if c.catalog
            else {"collect.folder": Path(c.folder)}
            if c.folder
            else {}
        )

    def plan(self, ctx: StageContext) -> str:
        c = self.config.collect
        if c.source == "local":
            return f"collect local videos from {c.catalog or c.folder} -> {ctx.stage_dir / 'videos.jsonl'}\n"
        from videokr.build.youtube import plan_searches, ydl_options

        path = ctx.run_dir / "scenarios" / "scenarios.jsonl"
        searches = plan_searches(read_rows(path), c.youtube) if path.is_file() else []
        lines = [f"yt-dlp {s['query']!r}  # {s['scenario_id']}" for s in searches] or [
            "(searches follow the scenarios stage)"
        ]
        return (
            "\n".join([*lines, f"options: {json.dumps(ydl_options(c.youtube, download=c.youtube.download))}"]) + "\n"
        )

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.sources import collect_local

        c = self.config.collect
        issues: list[Issue] = []
        dropped: list[Row] = []
        if c.source == "local":
            videos, issues, root = collect_local(c)
        else:
            videos, dropped, root = self._youtube(ctx)
        write_issues(ctx.stage_dir / "issues.jsonl", issues)
        write_jsonl(ctx.stage_dir / "dropped.jsonl", dropped)
        write_jsonl(ctx.stage_dir / "videos.jsonl", videos)
        write_json(ctx.stage_dir / "collect.json", {"video_root": str(root), "source": c.source})
        if not videos:
            raise DataError(f"no video collected (see {ctx.stage_dir / 'issues.jsonl'} and dropped.jsonl)")
        return {"videos": len(videos), "issues": len(issues), "dropped": len(dropped), "video_root": str(root)}

    def _youtube(self, ctx: StageContext) -> tuple[list[Row], list[Row], Path]:
        from videokr.build.youtube import download_videos, plan_searches, search_metadata, select_videos

        settings = self.config.collect.youtube
        searches = plan_searches(read_rows(ctx.run_dir / "scenarios" / "scenarios.jsonl"), settings)
        write_json(ctx.stage_dir / "plan.json", searches)
        if settings.metadata_file:
            found = json.loads(Path(settings.metadata_file).read_text())  # a recording: query -> info dicts
        else:
            found = search_metadata(searches, settings)
            write_json(ctx.stage_dir / "metadata.json", found)
        videos: list[Row] = []
        dropped: list[Row] = []
        seen: set[str] = set()
        for search in searches:
            kept, gone = select_videos(found.get(search["query"], []), search, settings)
            videos += [v for v in kept if v["video_id"] not in seen and not seen.add(v["video_id"])]  # type: ignore[func-returns-value]
            dropped += [{**d, "query": search["query"]} for d in gone]
        root = Path(settings.download_dir or ctx.stage_dir / "videos").absolute()
        if settings.download:
            failed = set(download_videos(videos, settings))
            dropped += [
                {"source_id": v["source_id"], "reason": "download failed"} for v in videos if v["source_id"] in failed
            ]
            videos = [v for v in videos if v["source_id"] not in failed]
        return videos, dropped, root


class Relevance(BuildStage):
    """Does each video fit its scenario: per candidate model, multi-pass for endpoints."""

    name = "relevance"
    config_keys = ("relevance", "endpoints", "frames", "selected.relevance")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {
            "videos (videokr build collect)": ctx.run_dir / "collect" / "videos.jsonl",
            "scenarios (videokr build scenarios)": ctx.run_dir / "scenarios" / "scenarios.jsonl",
            **self.review_inputs(ctx),
        }

    def plan(self, ctx: StageContext) -> str:
        return f"relevance with {', '.join(self.config.relevance.models)} -> {ctx.stage_dir}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.steps import candidate_pairs, catalog_relevance, endpoint_relevance

        videos = {v["video_id"]: v for v in read_rows(ctx.run_dir / "collect" / "videos.jsonl")}
        scenarios = {s["scenario_id"]: s for s in read_rows(ctx.run_dir / "scenarios" / "scenarios.jsonl")}
        pairs = candidate_pairs(list(videos.values()), list(scenarios.values()))
        clients, per_model, failures = self.clients(ctx), {}, []
        settings = self.config.relevance
        try:
            for model in settings.models:
                if model == "catalog":
                    per_model[model] = catalog_relevance(pairs, videos)
                else:
                    context = (videos, scenarios, read_points(ctx))
                    frames = (self.config.frames, video_root(ctx))
                    per_model[model], failed = endpoint_relevance(pairs, context, clients.get(model), settings, frames)
                    failures += failed
        finally:
            clients.ledger.save()
        write_jsonl(ctx.stage_dir / "failures.jsonl", failures)
        decided = self.finish(ctx, "relevance", settings.models, per_model, "relevance")
        relevant = _relevant_pairs(decided, videos)
        write_jsonl(ctx.stage_dir / "relevant.jsonl", relevant)
        write_jsonl(ctx.stage_dir / "dropped.jsonl", [d for d in decided if not d["relevant"]])
        return {"pairs": len(decided), "relevant": len(relevant), "failures": len(failures)}


def _relevant_pairs(decided: list[Row], videos: Mapping[str, Row]) -> list[Row]:
    """One row per relevant (video, knowledge point)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for row in decided:
        key = (row["video_id"], row["knowledge_id"])
        if row["relevant"] and key not in seen:
            seen.add(key)
            out.append({**key_fields(row), "video_path": videos[row["video_id"]]["video_path"]})
    return out


def key_fields(row: Mapping[str, Any]) -> Row:
    """The pair fields of a relevance row."""
    return {k: row[k] for k in ("video_id", "knowledge_id", "scenario_id")}
