"""The stages after qc: the optional decontamination, the split into SFT and RL files, the report."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.build.stages.base import BuildStage, read_rows, video_root
from videokr.errors import DataError
from videokr.io import write_jsonl
from videokr.run.stage import StageContext


class Decontaminate(BuildStage):
    """Optional: drop items contaminated with the listed benchmarks (videokr.data.decontam)."""

    name = "decontaminate"
    config_keys = ("decontaminate",)

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        found = {"qc kept (videokr build qc)": ctx.run_dir / "qc" / "kept.jsonl"}
        return found | {f"benchmark {i}": Path(b.rows) for i, b in enumerate(self.config.decontaminate.benchmarks)}

    def plan(self, ctx: StageContext) -> str:
        names = ", ".join(b.rows for b in self.config.decontaminate.benchmarks)
        return f"videokr data decontaminate --input {ctx.run_dir / 'qc' / 'kept.jsonl'} --against {names}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.deps import require

        decontam = require("videokr.data.decontam")
        d = self.config.decontaminate
        settings = decontam.DecontaminateSettings(
            input=ctx.run_dir / "qc" / "kept.jsonl",
            video_root=video_root(ctx),
            against=[
                decontam.Benchmark(rows=Path(b.rows), video_root=Path(b.video_root) if b.video_root else None)
                for b in d.benchmarks
            ],
            against_videos=[Path(p) for p in d.against_videos],
            output_dir=ctx.stage_dir,
            workers=1,
            ray_address=None,
            cache_dir=None,
        )
        result = decontam.decontaminate(settings)
        return {
            "kept": result.kept,
            "contaminated": result.contaminated,
            "by_reason": dict(result.by_reason),
            "report": str(result.report_path),
        }


class Split(BuildStage):
    """The video-level split into VideoKR SFT (with CoT) and RL files, both checked by `videokr data validate`."""

    name = "split"
    config_keys = ("split", "name")

    def source(self, ctx: StageContext) -> Path:
        """What the split reads: the decontaminated items when that stage runs, else qc's."""
        if self.config.decontaminate.benchmarks:
            return ctx.run_dir / "decontaminate" / "kept.jsonl"
        return ctx.run_dir / "qc" / "kept.jsonl"

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"quality-controlled items (videokr build qc)": self.source(ctx)}

    def plan(self, ctx: StageContext) -> str:
        return f"split {self.source(ctx)} by video -> {ctx.stage_dir / 'sft.jsonl'}, {ctx.stage_dir / 'rl.jsonl'}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.split import split_items, to_row
        from videokr.data.validate import validate_file

        s = self.config.split
        items = [i for i in read_rows(self.source(ctx)) if "item_id" in i or "problem_id" in i]
        sft, rl = split_items(items, s.rl_fraction, s.seed)
        dataset = s.dataset or self.config.name
        paths = {"sft": ctx.stage_dir / "sft.jsonl", "rl": ctx.stage_dir / "rl.jsonl"}
        write_jsonl(paths["sft"], [to_row(i, dataset, with_think=True) for i in sft])
        write_jsonl(paths["rl"], [to_row(i, dataset, with_think=False) for i in rl])
        errors = {name: validate_file(path, progress=False).errors for name, path in paths.items()}
        if any(errors.values()):
            raise DataError(f"the split files fail `videokr data validate`: {errors}")
        videos = {name: len({i["video_id"] for i in part}) for name, part in (("sft", sft), ("rl", rl))}
        return {
            "sft_file": str(paths["sft"]),
            "rl_file": str(paths["rl"]),
            "sft": len(sft),
            "rl": len(rl),
            "videos": videos,
            "video_root": str(video_root(ctx)),
        }


class Report(BuildStage):
    """RUN/report.md and RUN/report.json: counts per step, what each qc filter dropped, the ledger."""

    name = "report"

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"split (videokr build split)": ctx.run_dir / "split" / "sft.jsonl"}

    def plan(self, ctx: StageContext) -> str:
        return f"write {ctx.run_dir / 'report.md'}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.build.report import write_report

        paths = write_report(ctx.run_dir)
        return {"files": [str(p) for p in paths]}
