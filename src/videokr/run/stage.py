"""The stage object: one step of a run, the same for `videokr run`, `videokr demo` and every single-stage verb.

A stage names the config keys and input paths it depends on (its fingerprint), resolves those inputs by one rule
(`inputs`), renders what it would do without side effects (`plan`, printed by `--dry-run`), refuses to launch
when an input is missing (`check`), and runs (`run`), returning its outputs for the manifest. The graph
(videokr.run.graph) decides whether a stage runs, is skipped as unchanged, or resumes.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videokr.errors import DataError


@dataclass(frozen=True)
class StageContext:
    """What a stage sees: the run directory, the resolved config and the stages of this graph before it."""

    run_dir: Path
    stage_dir: Path
    config: Mapping[str, Any]
    upstream: tuple[str, ...] = ()  # names of the stages this graph runs (or ran) before this one
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # of the stages already done
    dry_run: bool = False
    python: str | None = None  # the engine environment's interpreter, when the caller names one


class Stage:
    """One step of a run; subclasses set `name` (and `env`, `config_keys`) and override what they need."""

    name: str = ""
    env: str | None = None  # the engine environment it launches in (sft, rl, eval): its versions are recorded
    config_keys: tuple[str, ...] = ()
    resume_keys: tuple[str, ...] = ()  # config keys whose change lets the engine resume (a longer training)

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        """The files and folders it reads, by name: fingerprinted, and required by `check`."""
        return {}

    def plan(self, ctx: StageContext) -> str:
        """What it would do, without side effects: the text `--dry-run` prints."""
        return ""

    def check(self, ctx: StageContext) -> None:
        """Fail before launching when an input is missing, naming the stage that writes it."""
        missing = {name: path for name, path in self.inputs(ctx).items() if not path.exists()}
        if missing:
            lines = [f"stage {self.name} cannot start, its inputs are missing:"]
            lines += [f"  {name}: {path}" for name, path in missing.items()]
            raise DataError("\n".join(lines))

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        """Do the work inside `ctx.stage_dir`; returns the outputs recorded in the manifest."""
        raise NotImplementedError
