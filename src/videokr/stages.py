"""The recipe's stages as pipeline steps: prepare-sft -> sft -> prepare-rl -> grpo -> merge -> eval -> report.

Each step calls the one library function of its stage with paths inside the run directory, so a run is
self-contained: `runs/<name>/<stage>/` holds the stage's rendered files, `command.sh`, `engine.log` and outputs.
"""

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.config import RecipeConfig, load_recipe, to_dict, to_yaml
from videokr.engines.base import format_plan
from videokr.errors import ConfigError, EngineError
from videokr.io import read_jsonl, write_json, write_text
from videokr.pipeline import RunResult, Stage, StageContext, run_stages

LOG = logging.getLogger(__name__)
STAGE_NAMES = ("prepare-sft", "sft", "prepare-rl", "grpo", "merge", "eval", "report")


def recipe_stages(recipe: RecipeConfig) -> list[Stage]:
    """The seven stages of `recipe`, in order."""
    data = recipe.data
    sft_data = ("data.sft_file", "data.video_root", "data.prompt_style")
    rl_data = ("data.rl_file", "data.video_root", "data.prompt_style", "data.rl_val_size", "data.rl_seed")
    rl_filter = ("model", "grpo.max_prompt_length", "grpo.image_patch_size")
    return [
        Stage("prepare-sft", lambda ctx: _prepare_sft(recipe, ctx), sft_data, lambda _ctx: [Path(data.sft_file)]),
        Stage(
            "sft", lambda ctx: _sft(recipe, ctx), ("model", "sft"), lambda ctx: [ctx.run_dir / "prepare-sft"], "sft"
        ),
        Stage(
            "prepare-rl", lambda ctx: _prepare_rl(recipe, ctx), rl_data + rl_filter, lambda _ctx: [Path(data.rl_file)]
        ),
        Stage("grpo", lambda ctx: _grpo(recipe, ctx), ("model.family", "grpo"), _grpo_inputs, "rl"),
        Stage(
            "merge", lambda ctx: _merge(recipe, ctx), ("merge",), lambda ctx: [ctx.run_dir / "grpo" / "checkpoints"]
        ),
        Stage(
            "eval",
            lambda ctx: _eval(recipe, ctx),
            ("model.path", "eval"),
            lambda ctx: [
                Path(recipe.eval.data_file),
                ctx.run_dir / "sft" / "checkpoint",
                ctx.run_dir / "merge" / "hf",
            ],
        ),
        Stage("report", lambda ctx: _report(recipe, ctx), (), lambda ctx: [ctx.run_dir / "eval"]),
    ]


def _grpo_inputs(ctx: StageContext) -> list[Path]:
    """GRPO reads the RL data and the SFT checkpoint (its own checkpoints are not inputs: verl resumes from them)."""
    return [ctx.run_dir / "prepare-rl" / "data", ctx.run_dir / "sft" / "checkpoint"]


def _prepare_sft(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.data.sft import prepare_sft

    out = ctx.stage_dir / "data"
    video_root = recipe.data.video_root or None
    if ctx.dry_run:
        return {"dry_run": f"videokr data prepare-sft --input {recipe.data.sft_file} --output-dir {out}"}
    result = prepare_sft(recipe.data.sft_file, out, video_root=video_root, style=recipe.data.prompt_style)
    return {"dataset_dir": str(out), "rows": result.written, "skipped": result.skipped}


def _sft(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.engines.llamafactory import train_sft

    checkpoint = ctx.stage_dir / "checkpoint"
    cfg = dataclasses.replace(
        recipe.sft, dataset_dir=str(ctx.run_dir / "prepare-sft" / "data"), output_dir=str(checkpoint)
    )
    plan, code = train_sft(
        cfg, stage_dir=ctx.stage_dir, model_path=recipe.model.path, family=recipe.model.family, dry_run=ctx.dry_run
    )
    if ctx.dry_run:
        return {"dry_run": format_plan(plan)}
    _require_success("sft", code)
    return {"checkpoint": str(checkpoint)}


def _prepare_rl(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.data.rl import LengthFilter, prepare_rl

    grpo = recipe.grpo
    length_filter = LengthFilter(
        max_prompt_length=grpo.max_prompt_length,
        model=recipe.model.path,
        family=recipe.model.family,
        image_patch_size=grpo.image_patch_size,
    )
    out = ctx.stage_dir / "data"
    if ctx.dry_run:
        return {"dry_run": f"videokr data prepare-rl --input {recipe.data.rl_file} --output-dir {out}"}
    result = prepare_rl(
        recipe.data.rl_file,
        out,
        recipe.data.video_root,
        val_size=recipe.data.rl_val_size,
        seed=recipe.data.rl_seed,
        style=recipe.data.prompt_style,
        length_filter=length_filter,
    )
    return {
        "data_dir": str(out),
        "train_rows": result.train_rows,
        "test_rows": result.test_rows,
        "dropped": result.dropped,
    }


def _grpo(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.engines.verl import train_grpo

    checkpoints = ctx.stage_dir / "checkpoints"
    cfg = dataclasses.replace(
        recipe.grpo,
        model_path=recipe.grpo.model_path or str(ctx.run_dir / "sft" / "checkpoint"),
        data_dir=str(ctx.run_dir / "prepare-rl" / "data"),
        output_dir=str(checkpoints),
    )
    plan, code = train_grpo(
        cfg, stage_dir=ctx.stage_dir, model_path=cfg.model_path, family=recipe.model.family, dry_run=ctx.dry_run
    )
    if ctx.dry_run:
        return {"dry_run": format_plan(plan)}
    _require_success("grpo", code)
    return {"checkpoints": str(checkpoints), "metrics": str(ctx.stage_dir / "metrics.jsonl")}


def _merge(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.engines.verl import merge_checkpoint

    target = ctx.stage_dir / "hf"
    cfg = dataclasses.replace(recipe.merge, target_dir=str(target))
    checkpoints = str(ctx.run_dir / "grpo" / "checkpoints")
    if ctx.dry_run:
        return {"dry_run": f"videokr merge {checkpoints} --out {target}"}
    _, merged, code = merge_checkpoint(cfg, checkpoint_dir=checkpoints, stage_dir=ctx.stage_dir)
    _require_success("merge", code)
    return {"model": str(merged)}


def checkpoint_of(recipe: RecipeConfig, run_dir: Path, name: str) -> str:
    """The checkpoint a model name of `eval.models` stands for: base, sft, grpo, or a path."""
    known = {
        "base": recipe.model.path,
        "sft": str(run_dir / "sft" / "checkpoint"),
        "grpo": str(run_dir / "merge" / "hf"),
    }
    return known.get(name, name)


def eval_runs(recipe: RecipeConfig, run_dir: Path) -> list[tuple[str, str, str]]:
    """(report name, checkpoint, video root) for every evaluation of the eval stage."""
    video_root = recipe.eval.video_root or recipe.data.video_root
    runs = [(name, checkpoint_of(recipe, run_dir, name), video_root) for name in recipe.eval.models]
    if recipe.eval.blank_video_root:
        last = recipe.eval.models[-1]
        runs.append((f"{last}_blank_video", checkpoint_of(recipe, run_dir, last), recipe.eval.blank_video_root))
    return runs


def _eval(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    from videokr.engines.lmms_eval import evaluate

    if not recipe.eval.models:
        raise ConfigError("eval.models is empty: name the checkpoints to evaluate (base, sft, grpo or paths)")
    metrics = {}
    if ctx.dry_run:
        runs = eval_runs(recipe, ctx.run_dir)
        return {
            "dry_run": "\n".join(
                f"videokr eval --model {model} --video-root {root}  # {name}" for name, model, root in runs
            )
        }
    for name, model, video_root in eval_runs(recipe, ctx.run_dir):
        cfg = dataclasses.replace(
            recipe.eval, model=model, video_root=video_root, output_dir=str(ctx.stage_dir / name)
        )
        LOG.info("evaluating %s (%s)", name, model)
        result = evaluate(cfg, stage_dir=ctx.stage_dir / name)
        _require_success(f"eval of {name}", result.code)
        metrics[name] = str(ctx.stage_dir / name / "scores" / "metrics.json")
    return {"metrics": metrics}


def _report(recipe: RecipeConfig, ctx: StageContext) -> Mapping[str, Any]:
    if ctx.dry_run:
        return {"dry_run": f"videokr report {ctx.run_dir}"}
    written = write_run_report(ctx.run_dir, title=f"videokr run {recipe.name}")
    return {"files": [str(path) for path in written]}


def write_run_report(run_dir: Path, title: str = "videokr run") -> list[Path]:
    """Gather each evaluated model's metrics into RUN/metrics.json, RUN/report.md and RUN/plots/."""
    import json

    from videokr.report import write_comparison
    from videokr.report.training import write_training_plots

    eval_dir = run_dir / "eval"
    metrics_by_model = {}
    for path in sorted(eval_dir.glob("*/scores/metrics.json")):
        metrics_by_model[path.parent.parent.name] = json.loads(path.read_text())
    if not metrics_by_model:
        raise ConfigError(f"no evaluation results under {eval_dir}: run the eval stage first")
    # "n" is the number of rows scored: without a judge, open-ended rows are skipped and it counts MC rows only.
    ordered = {name: metrics_by_model[name] for name in _order(metrics_by_model)}
    written = write_comparison(ordered, run_dir, title=title)
    # At the run level "n" is what the accuracy is computed over (the scored rows; without a judge, the
    # multiple-choice rows); each model's own breakdown keeps its row count as "n_rows".
    summary = {name: {**m, "n": m.get("n_scored"), "n_rows": m.get("n")} for name, m in ordered.items()}
    write_json(run_dir / "metrics.json", summary)
    steps = run_dir / "grpo" / "metrics.jsonl"
    if steps.is_file():
        written += write_training_plots(list(read_jsonl(steps)), run_dir / "plots")
    return written


def _order(names: Mapping[str, Any]) -> list[str]:
    """base, sft, grpo first (the order of the recipe), then controls and other names alphabetically."""
    preferred = ["base", "sft", "grpo"]
    return sorted(names, key=lambda n: (preferred.index(n) if n in preferred else len(preferred), n))


def _require_success(stage: str, code: int) -> None:
    if code != 0:
        raise EngineError(f"{stage} exited with code {code}")


def resolved_config(recipe: RecipeConfig) -> dict[str, Any]:
    """The recipe as plain data, for fingerprints and runs/<name>/config.yaml."""
    resolved: dict[str, Any] = to_dict(recipe)
    return resolved


@dataclasses.dataclass(frozen=True)
class RecipeRun:
    """What `run_recipe` did, and where."""

    run_dir: Path
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    plans: Mapping[str, str]


def run_recipe(
    config: str | Path | Mapping[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    start: str | None = None,
    until: str | None = None,
    dry_run: bool = False,
    on_stage: Any = None,
) -> RecipeRun:
    """Load a recipe and run its stages in `<output_dir>` (runs/<name>/), resuming what is already done."""
    recipe = load_recipe(config, overrides)
    run_dir = Path(recipe.output_dir).absolute()
    if not dry_run:
        write_text(run_dir / "config.yaml", to_yaml(recipe))
    result: RunResult = run_stages(
        recipe_stages(recipe),
        run_dir,
        resolved_config(recipe),
        start=start,
        until=until,
        dry_run=dry_run,
        on_stage=on_stage,
    )
    return RecipeRun(run_dir, result.ran, result.skipped, result.plans)
