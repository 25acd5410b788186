"""The stages that make and check items: generate (per candidate model) -> qc (the reported filters)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.build.client import Clients
from videokr.build.stages.base import BuildStage, Row, read_points, read_rows, video_root
from videokr.build.stages.sourcing import key_fields
from videokr.errors import DataError
from videokr.io import write_json, write_jsonl
from videokr.run.stage import StageContext


class Generate(BuildStage):
    """Skill-oriented items from each relevant (video, knowledge point), per candidate model."""

    name = "generate"
    config_keys = ("generate", "endpoints", "frames", "selected.generate")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {
            "relevant videos (videokr build relevance)": ctx.run_dir / "relevance" / "relevant.jsonl",
            **self.review_inputs(ctx),
        }

    def plan(self, ctx: StageContext) -> str:
        return f"generate {', '.join(self.config.generate.skills)} items with {', '.join(self.config.generate.models)} -> {ctx.stage_dir}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.generate import template_items

        pairs, points = read_rows(ctx.run_dir / "relevance" / "relevant.jsonl"), read_points(ctx)
        if not pairs:
            raise DataError("no relevant video to generate from: see relevance/dropped.jsonl")
        clients, per_model, failures = self.clients(ctx), {}, []
        settings = self.config.generate
        try:
            for model in settings.models:
                if model == "template":
                    per_model[model] = template_items(pairs, points, settings)
                else:
                    per_model[model], failed = self._endpoint(ctx, clients, model, pairs, points)
                    failures += failed
        finally:
            clients.ledger.save()
        write_jsonl(ctx.stage_dir / "failures.jsonl", failures)
        items = self.finish(ctx, "generate", settings.models, per_model, "candidates")
        return {"items": len(items), "failures": len(failures)}

    def _endpoint(
        self, ctx: StageContext, clients: Clients, model: str, pairs: list[Row], points: Mapping[str, Row]
    ) -> tuple[list[Row], list[Row]]:
        from videokr.build.frames import sample_frames
        from videokr.build.generate import generate_request, item_from_reply

        seeds, root, settings = read_rows(ctx.run_dir / "bank" / "seeds.jsonl"), video_root(ctx), self.config.generate
        jobs, requests = [], []
        for pair in pairs:
            frames = sample_frames(root / pair["video_path"], self.config.frames)
            for skill in settings.skills:
                jobs.append((pair, skill))
                requests.append(generate_request(pair, points[pair["knowledge_id"]], skill, seeds, frames, settings))
        items, failures = [], []
        for (pair, skill), result in zip(jobs, clients.get(model).call_many(requests), strict=True):
            item, problem = (
                item_from_reply(pair, points[pair["knowledge_id"]], skill, model, result.value)
                if result.ok
                else (None, result.error)
            )
            if item is None:
                failures.append(
                    {"step": "generate", "model": model, **key_fields(pair), "skill": skill, "error": problem}
                )
            else:
                items.append(item)
        return items, failures


class QC(BuildStage):
    """The quality-control filters; each writes what it dropped and why, and qc/report.json counts them."""

    name = "qc"
    config_keys = ("qc", "endpoints", "frames")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        found = {"candidates (videokr build generate)": ctx.run_dir / "generate" / "candidates.jsonl"}
        return found | {f"checkpoint of {name}": Path(path) for name, path in self._checkpoints().items()}

    def _checkpoints(self) -> dict[str, str]:
        """The local checkpoints qc answers with (`hf`): the solver's and the target model's."""
        q = self.config.qc
        found = {"qc.hf.checkpoint": q.hf.checkpoint} if q.solver == "hf" else {}
        if q.difficulty.model == "hf":
            found["qc.difficulty.checkpoint"] = q.difficulty.checkpoint or q.hf.checkpoint
        return found

    def plan(self, ctx: StageContext) -> str:
        q = self.config.qc
        return f"qc with solver {q.solver}, rationale judge {q.rationale_judge or '-'}, target {q.difficulty.model or '-'} -> {ctx.stage_dir}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.qc import run_filters

        items = read_rows(ctx.run_dir / "generate" / "candidates.jsonl")
        clients = self.clients(ctx)
        try:
            solver, judge, target = self._models(ctx, clients)
            kept, reports = run_filters(items, self.config.qc, solver, judge, target)
        finally:
            clients.ledger.save()
        dropped = []
        for name, report in reports.items():
            write_jsonl(ctx.stage_dir / f"dropped.{name}.jsonl", report.dropped)
            write_jsonl(ctx.stage_dir / f"answers.{name}.jsonl", report.answers)
            dropped += [{"filter": name, **d} for d in report.dropped]
        write_jsonl(ctx.stage_dir / "dropped.jsonl", dropped)
        write_jsonl(ctx.stage_dir / "kept.jsonl", kept)
        summary = {
            name: {
                "status": r.status,
                "checked": r.checked,
                "dropped": len(r.dropped),
                "planted_caught": sum("planted" in d for d in r.dropped),
            }
            for name, r in reports.items()
        }
        planted = sum("planted" in i for i in items)
        qc_report = {
            "candidates": len(items),
            "kept": len(kept),
            "planted": planted,
            "planted_kept": sum("planted" in i for i in kept),
            "filters": summary,
        }
        write_json(ctx.stage_dir / "report.json", qc_report)
        return {"candidates": len(items), "kept": len(kept), "dropped": {n: s["dropped"] for n, s in summary.items()}}

    def _models(self, ctx: StageContext, clients: Clients) -> tuple[Any, Any, Any]:
        from videokr.build.local import HFSolver
        from videokr.build.qc import EndpointJudge, EndpointSolver, RuleJudge, TextCueSolver

        q = self.config.qc

        def solver_of(name: str, checkpoint: str) -> Any:
            if name == "text-cue":
                return TextCueSolver()
            if name == "hf":
                return HFSolver(Path(checkpoint), video_root(ctx), self.config.frames, q.hf)
            return EndpointSolver(clients.get(name), self.config.frames, video_root(ctx))

        judge = (
            None
            if not q.rationale_judge
            else RuleJudge()
            if q.rationale_judge == "rule"
            else EndpointJudge(clients.get(q.rationale_judge))
        )
        solver = solver_of(q.solver, q.hf.checkpoint)
        if q.difficulty.model == q.solver and (q.difficulty.checkpoint or q.hf.checkpoint) == q.hf.checkpoint:
            return solver, judge, solver  # the same model: loaded once
        target = (
            solver_of(q.difficulty.model, q.difficulty.checkpoint or q.hf.checkpoint) if q.difficulty.model else None
        )
        return solver, judge, target
