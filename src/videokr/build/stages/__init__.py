"""The build's stages on the run graph: bank -> scenarios -> collect -> relevance -> generate -> qc ->
[decontaminate] -> split -> report.

`videokr build CONFIG` runs them all (`run_build`), `videokr build STEP CONFIG` one of them (`run_build_stage`), on
the same run directory, manifest and fingerprints as `videokr run`: a stage whose config and inputs are unchanged
is skipped, a failed or killed one runs again, and its model calls come back from the cache for free. Imported
verdicts and the model selection are inputs of the model steps, so importing them re-runs what they change.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.build.config import BuildConfig, load_build
from videokr.build.stages.base import BuildStage
from videokr.build.stages.items import QC, Generate
from videokr.build.stages.outputs import Decontaminate, Report, Split
from videokr.build.stages.sourcing import Bank, Collect, Relevance, Scenarios
from videokr.config import to_dict, to_yaml
from videokr.errors import ConfigError, DataError
from videokr.io import write_jsonl, write_text
from videokr.run.graph import Progress, RunResult, run_stages
from videokr.run.stage import Stage, StageContext

__all__ = [
    "STEP_NAMES",
    "build_stages",
    "draft_bank",
    "load_build_run",
    "run_build",
    "run_build_stage",
    "select_build",
]


def build_stages(config: BuildConfig) -> list[Stage]:
    """The build's stages in order; decontaminate only when benchmarks are listed."""
    kinds: list[type[BuildStage]] = [Bank, Scenarios, Collect, Relevance, Generate, QC]
    if config.decontaminate.benchmarks:
        kinds.append(Decontaminate)
    kinds += [Split, Report]
    return [kind(config) for kind in kinds]


STEP_NAMES = ("bank", "scenarios", "collect", "relevance", "generate", "qc", "decontaminate", "split", "report")


def load_build_run(source: str | Path | Mapping[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> BuildConfig:
    """A build recipe, a shipped recipe's name, or a build's run directory (its config.yaml) with overrides."""
    if isinstance(source, str | Path) and (Path(source) / "config.yaml").is_file():
        return load_build(Path(source) / "config.yaml", [f"output_dir={Path(source).absolute()}", *overrides])
    return load_build(source, overrides)


def run_build(
    source: str | Path | Mapping[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    start: str | None = None,
    until: str | None = None,
    dry_run: bool = False,
    on_stage: Progress | None = None,
) -> RunResult:
    """Run every stage of a build in its output_dir, skipping what is done and unchanged."""
    config = load_build_run(source, overrides)
    return _run(config, build_stages(config), start, until, dry_run, on_stage)


def run_build_stage(
    name: str,
    source: str | Path | Mapping[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    force: bool = False,
    dry_run: bool = False,
) -> RunResult:
    """Run one stage of a build (a single-step verb): skipped when done and unchanged, unless `force`."""
    config = load_build_run(source, overrides)
    stage = next((s for s in build_stages(config) if s.name == name), None)
    if stage is None:
        raise ConfigError(
            f"unknown or disabled build stage {name!r}: stages are {', '.join(s.name for s in build_stages(config))}"
        )
    return _run(config, [stage], name if force or dry_run else None, None, dry_run, None)


def _run(
    config: BuildConfig,
    stages: list[Stage],
    start: str | None,
    until: str | None,
    dry_run: bool,
    on_stage: Progress | None,
) -> RunResult:
    run_dir = Path(config.output_dir).absolute()
    if not dry_run:
        write_text(run_dir / "config.yaml", to_yaml(config))
    plain: dict[str, Any] = to_dict(config)
    return run_stages(stages, run_dir, plain, start=start, until=until, dry_run=dry_run, on_stage=on_stage)


def draft_bank(
    config: BuildConfig, subject: str, discipline: str, model: str, count: int, output: Path | None = None
) -> Path:
    """Ask an endpoint for a draft knowledge bank of `subject` (rows marked draft) for experts to edit."""
    from videokr.build.bank import draft_points
    from videokr.build.client import CallRequest
    from videokr.build.schemas import BANK_DRAFT, VERSIONS, bank_prompt, user

    run_dir = Path(config.output_dir).absolute()
    stage = Bank(config)
    ctx = StageContext(run_dir, run_dir / "bank", to_dict(config))
    clients = stage.clients(ctx)
    try:
        request = CallRequest(
            "bank", VERSIONS["bank"], user(bank_prompt(subject, discipline, count)), BANK_DRAFT, "bank"
        )
        result = clients.get(model).call(request)
    finally:
        clients.ledger.save()
    if not result.ok:
        raise DataError(f"the bank draft failed: {result.error}")
    path = output or run_dir / "bank" / "draft.jsonl"
    write_jsonl(path, draft_points(result.value, subject, discipline))
    return path


def select_build(
    source: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[dict[str, dict[str, Any]], list[Path]]:
    """Pick each reviewed step's model (`review.bar`) and record it in the recipe; (selection, files written).

    The choice goes into the recipe file named by `source` and into the run's config.yaml, so both `videokr build
    RECIPE` and `videokr build RUN` rebuild with it; a shipped recipe (package data) is left alone.
    """
    from videokr.build.review import record_selection, select_models

    config = load_build_run(source, overrides)
    run_dir = Path(config.output_dir).absolute()
    selection = select_models(run_dir, config.review.bar)
    targets = [run_dir / "config.yaml"]
    if Path(source).is_file() and Path(source).absolute() != targets[0]:
        targets.insert(0, Path(source))
    written = [path for path in targets if path.is_file()]
    for path in written:
        record_selection(path, selection)
        load_build(path)  # the recipe still loads: the selection names candidates of each step
    return selection, written
