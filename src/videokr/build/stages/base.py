"""What every build stage shares: settings from the build config, the model clients, and the finish of a model step.

A model step writes each candidate model's outputs, then the selected model's (the recipe's `selected`, else the
first candidate) with the imported verdicts applied: rejected rows dropped, edits applied.
"""

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.build.cache import CallCache
from videokr.build.client import Clients
from videokr.build.config import BuildConfig
from videokr.build.ledger import Ledger
from videokr.build.review import apply_verdicts, load_verdicts
from videokr.io import read_jsonl, write_jsonl
from videokr.run.stage import Stage, StageContext

LOG = logging.getLogger(__name__)
Row = dict[str, Any]


class BuildStage(Stage):
    """A stage of the build: it reads its settings from `config`."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config

    def clients(self, ctx: StageContext) -> Clients:
        """The endpoint clients, sharing the build's cache and ledger."""
        cache_dir = Path(self.config.cache_dir).absolute() if self.config.cache_dir else ctx.run_dir / "cache"
        ledger = Ledger(ctx.run_dir / "ledger.json", self.config.budget)
        return Clients(self.config.endpoints, CallCache(cache_dir / "calls.jsonl"), ledger, self.config.retry_failed)

    def review_inputs(self, ctx: StageContext) -> dict[str, Path]:
        """The imported verdicts, when there are any (fingerprinted; the selection is config: `selected`)."""
        path = ctx.run_dir / "review" / "verdicts.jsonl"
        return {"review verdicts": path} if path.is_file() else {}

    def finish(
        self, ctx: StageContext, step: str, models: tuple[str, ...], per_model: Mapping[str, list[Row]], name: str
    ) -> list[Row]:
        """Write each model's outputs, then the chosen model's with verdicts applied as `name`; returns those."""
        for model, rows in per_model.items():
            write_jsonl(ctx.stage_dir / f"{name}.{model}.jsonl", rows)
        chosen = self.config.selected.get(step) or models[0]
        rows = apply_verdicts(step, chosen, per_model[chosen], load_verdicts(ctx.run_dir))
        write_jsonl(ctx.stage_dir / f"{name}.jsonl", rows)
        return rows


def read_rows(path: Path) -> list[Row]:
    """Every row of a jsonl file."""
    return list(read_jsonl(path))


def write_issues(path: Path, issues: Sequence[object]) -> None:
    """Log each issue and write them all (dataclasses) as jsonl."""
    for issue in issues:
        LOG.warning("%s", issue)
    write_jsonl(path, [dataclasses.asdict(i) for i in issues])  # type: ignore[call-overload]


def read_points(ctx: StageContext) -> dict[str, Row]:
    """The validated knowledge points by id."""
    return {p["id"]: p for p in read_rows(ctx.run_dir / "bank" / "bank.jsonl")}


def video_root(ctx: StageContext) -> Path:
    """What the collected videos' paths are relative to."""
    return Path(json.loads((ctx.run_dir / "collect" / "collect.json").read_text())["video_root"])
