"""The recipe's stages: prepare-sft -> sft -> prepare-rl -> grpo -> merge -> eval -> report, as stage objects.

`videokr run RECIPE` runs all of them (`run_recipe`); `videokr train sft RECIPE`, `videokr train grpo RECIPE`,
`videokr merge RECIPE` and `videokr report RECIPE` run one of them (`run_stage`): the same object, the same inputs
(videokr.run.inputs), the same run directory (the recipe's output_dir) and manifest, so a verb run by hand is
skipped by a later `videokr run` when nothing changed, and the other way round. Each stage works inside
`runs/<name>/<stage>/`: rendered files, `command.sh`, `engine.log` and outputs.
"""

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videokr.config import RecipeConfig, SFTConfig, load_recipe, to_dict, to_yaml
from videokr.config.grpo import GRPOConfig, MergeConfig
from videokr.errors import ConfigError, EngineError
from videokr.io import write_text
from videokr.run import inputs
from videokr.run.graph import Progress, RunResult, run_stages
from videokr.run.stage import Stage, StageContext

if TYPE_CHECKING:
    from videokr.engines.base import LaunchPlan

LOG = logging.getLogger(__name__)


class RecipeStage(Stage):
    """A stage of the recipe: it reads its settings from `recipe`."""

    def __init__(self, recipe: RecipeConfig) -> None:
        self.recipe = recipe


class PrepareSFT(RecipeStage):
    """The CoT corpus -> LLaMA-Factory's sharegpt json + dataset_info.json."""

    name = "prepare-sft"
    config_keys = ("data.sft_file", "data.video_root", "data.prompt_style")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"data.sft_file": Path(self.recipe.data.sft_file)}

    def plan(self, ctx: StageContext) -> str:
        return f"videokr data prepare-sft --input {self.recipe.data.sft_file} --output-dir {ctx.stage_dir / 'data'}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.data.sft import prepare_sft

        out = ctx.stage_dir / "data"
        data = self.recipe.data
        result = prepare_sft(data.sft_file, out, video_root=data.video_root or None, style=data.prompt_style)
        return {"dataset_dir": str(out), "rows": result.written, "skipped": result.skipped}


class SFT(RecipeStage):
    """Full SFT with LLaMA-Factory from model.path on the prepared dataset."""

    name = "sft"
    env = "sft"
    config_keys = ("model", "sft")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"SFT dataset (videokr data prepare-sft)": inputs.sft_data(self.recipe, ctx.run_dir)}

    def config(self, ctx: StageContext) -> SFTConfig:
        """The sft section with its paths resolved."""
        dataset, checkpoint = (
            inputs.sft_data(self.recipe, ctx.run_dir),
            inputs.sft_checkpoint(self.recipe, ctx.run_dir),
        )
        return dataclasses.replace(self.recipe.sft, dataset_dir=str(dataset), output_dir=str(checkpoint))

    def launch(self, ctx: StageContext) -> "LaunchPlan":
        """LLaMA-Factory's launch plan."""
        from videokr.engines.llamafactory import plan_sft

        model = self.recipe.model
        return plan_sft(
            self.config(ctx),
            stage_dir=ctx.stage_dir,
            model_path=model.path,
            family=model.family,
            python=ctx.python,
            strict=not ctx.dry_run,
        )

    def plan(self, ctx: StageContext) -> str:
        from videokr.engines.base import format_plan

        return format_plan(self.launch(ctx))

    def check(self, ctx: StageContext) -> None:
        from videokr.engines.llamafactory import check_sft_inputs

        super().check(ctx)
        check_sft_inputs(self.config(ctx))

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.engines.llamafactory import train_sft

        cfg, model = self.config(ctx), self.recipe.model
        _, code = train_sft(
            cfg, stage_dir=ctx.stage_dir, model_path=model.path, family=model.family, python=ctx.python
        )
        _require_success("sft", code)
        return {"checkpoint": cfg.output_dir}


class PrepareRL(RecipeStage):
    """The RL corpus -> verl's train.parquet / test.parquet, over-long prompts dropped."""

    name = "prepare-rl"
    config_keys = (
        "data.rl_file",
        "data.video_root",
        "data.prompt_style",
        "data.rl_val_size",
        "data.rl_seed",
        "model",
        "grpo.max_prompt_length",
        "grpo.image_patch_size",
    )

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"data.rl_file": Path(self.recipe.data.rl_file)}

    def plan(self, ctx: StageContext) -> str:
        return f"videokr data prepare-rl --input {self.recipe.data.rl_file} --output-dir {ctx.stage_dir / 'data'}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.data.rl import LengthFilter, prepare_rl

        recipe, out = self.recipe, ctx.stage_dir / "data"
        length_filter = LengthFilter(
            max_prompt_length=recipe.grpo.max_prompt_length,
            model=recipe.model.path,
            family=recipe.model.family,
            image_patch_size=recipe.grpo.image_patch_size,
            workers=recipe.data.workers,
            ray_address=recipe.data.ray_address or None,
        )
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


class GRPO(RecipeStage):
    """GRPO with verl from the model `inputs.grpo_model` chooses; re-running resumes from verl's checkpoints."""

    name = "grpo"
    env = "rl"
    config_keys = ("model", "grpo")
    resume_keys = ("grpo.total_training_steps", "grpo.total_epochs")  # a longer run continues the checkpoints

    def model(self, ctx: StageContext) -> inputs.ModelChoice:
        """The starting model (one rule, videokr.run.inputs.grpo_model)."""
        return inputs.grpo_model(self.recipe, ctx.run_dir, ctx.upstream)

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        found = {"RL data (videokr data prepare-rl)": inputs.rl_data(self.recipe, ctx.run_dir)}
        model = self.model(ctx).path
        return {**found, "model": Path(model)} if model and inputs.is_local(model) else found

    def config(self, ctx: StageContext) -> GRPOConfig:
        """The grpo section with its paths and model resolved."""
        return dataclasses.replace(
            self.recipe.grpo,
            model_path=self.model(ctx).path,
            data_dir=str(inputs.rl_data(self.recipe, ctx.run_dir)),
            output_dir=str(inputs.grpo_checkpoints(self.recipe, ctx.run_dir)),
        )

    def launch(self, ctx: StageContext) -> "LaunchPlan":
        """verl's launch plan."""
        from videokr.engines.verl import plan_grpo

        cfg = self.config(ctx)
        return plan_grpo(
            cfg,
            stage_dir=ctx.stage_dir,
            model_path=cfg.model_path,
            family=self.recipe.model.family,
            python=ctx.python,
            strict=not ctx.dry_run,
        )

    def plan(self, ctx: StageContext) -> str:
        from videokr.engines.base import format_plan

        self.model(ctx).warn()
        return format_plan(self.launch(ctx))

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.engines.verl import read_latest_step, train_grpo
        from videokr.engines.verl_metrics import collect_metrics, summarize

        cfg = self.config(ctx)
        self.model(ctx).warn()
        _, code = train_grpo(
            cfg, stage_dir=ctx.stage_dir, model_path=cfg.model_path, family=self.recipe.model.family, python=ctx.python
        )
        _require_success("grpo", code)
        summary = summarize(collect_metrics(ctx.stage_dir))
        return {
            "checkpoints": cfg.output_dir,
            "model": cfg.model_path,
            "step": read_latest_step(cfg.output_dir),
            "metrics": str(ctx.stage_dir / "metrics.jsonl"),
            "summary": summary,
        }


class Merge(RecipeStage):
    """verl's FSDP checkpoint -> a Hugging Face model that loads and generates."""

    name = "merge"
    env = "rl"
    config_keys = ("merge",)

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"GRPO checkpoints (videokr train grpo)": inputs.merge_source(self.recipe, ctx.run_dir)}

    def config(self, ctx: StageContext) -> MergeConfig:
        """The merge section with its paths resolved."""
        source, target = inputs.merge_source(self.recipe, ctx.run_dir), inputs.merged_model(self.recipe, ctx.run_dir)
        return dataclasses.replace(self.recipe.merge, checkpoint_dir=str(source), target_dir=str(target))

    def plan(self, ctx: StageContext) -> str:
        from videokr.engines.base import format_plan
        from videokr.engines.verl import plan_merge

        cfg = self.config(ctx)
        if "grpo" in ctx.upstream and not Path(cfg.checkpoint_dir).exists():
            # GRPO has not written its checkpoints yet: which step the merger reads is known only then.
            latest = f"the latest global_step_N/actor in {cfg.checkpoint_dir}"
            return f"# merge\nverl.model_merger merge of {latest} -> {cfg.target_dir}\n"
        plan, _ = plan_merge(cfg, checkpoint_dir=cfg.checkpoint_dir, stage_dir=ctx.stage_dir, python=ctx.python)
        return format_plan(plan)

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.engines.verl import find_step_dir, merge_checkpoint

        cfg = self.config(ctx)
        step_dir = find_step_dir(cfg.checkpoint_dir, cfg.step)
        _, merged, code = merge_checkpoint(
            cfg, checkpoint_dir=cfg.checkpoint_dir, stage_dir=ctx.stage_dir, python=ctx.python
        )
        _require_success("merge", code)
        return {"model": str(merged), "source": str(step_dir), "checked": cfg.check_generate}


class Eval(RecipeStage):
    """lmms-eval on every model of eval.models (base, sft, grpo or paths), and the blank-video control."""

    name = "eval"
    env = "eval"
    config_keys = ("model.path", "eval")

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        found = {"eval.data_file": Path(self.recipe.eval.data_file)}
        for name, model, _ in inputs.eval_runs(self.recipe, ctx.run_dir):
            if name in ("sft", "grpo") or inputs.is_local(model):
                found[f"model {name}"] = Path(model)
        return found

    def plan(self, ctx: StageContext) -> str:
        self._require_models()
        runs = inputs.eval_runs(self.recipe, ctx.run_dir)
        return "".join(f"videokr eval --model {model} --video-root {root}  # {name}\n" for name, model, root in runs)

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.engines.lmms_eval import evaluate

        self._require_models()
        metrics = {}
        for name, model, video_root in inputs.eval_runs(self.recipe, ctx.run_dir):
            cfg = dataclasses.replace(
                self.recipe.eval, model=model, video_root=video_root, output_dir=str(ctx.stage_dir / name)
            )
            LOG.info("evaluating %s (%s)", name, model)
            result = evaluate(cfg, stage_dir=ctx.stage_dir / name)
            _require_success(f"eval of {name}", result.code)
            metrics[name] = str(ctx.stage_dir / name / "scores" / "metrics.json")
        return {"metrics": metrics}

    def _require_models(self) -> None:
        if not self.recipe.eval.models:
            raise ConfigError("eval.models is empty: name the checkpoints to evaluate (base, sft, grpo or paths)")


class Report(RecipeStage):
    """Every evaluated model side by side: RUN/report.md, RUN/metrics.json, RUN/plots/."""

    name = "report"

    def inputs(self, ctx: StageContext) -> Mapping[str, Path]:
        return {"eval results (videokr run --until eval)": ctx.run_dir / "eval"}

    def plan(self, ctx: StageContext) -> str:
        return f"videokr report {ctx.run_dir}\n"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        from videokr.report.run import write_run_report

        written = write_run_report(ctx.run_dir, title=f"videokr run {self.recipe.name}")
        return {"files": [str(path) for path in written]}


STAGES: tuple[type[RecipeStage], ...] = (PrepareSFT, SFT, PrepareRL, GRPO, Merge, Eval, Report)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def recipe_stages(recipe: RecipeConfig) -> list[Stage]:
    """The seven stages of `recipe`, in order."""
    return [stage(recipe) for stage in STAGES]


def _require_success(stage: str, code: int) -> None:
    if code != 0:
        raise EngineError(f"{stage} exited with code {code}")


def resolved_config(recipe: RecipeConfig) -> dict[str, Any]:
    """The recipe as plain data, for fingerprints and runs/<name>/config.yaml."""
    resolved: dict[str, Any] = to_dict(recipe)
    return resolved


def load_run_recipe(
    source: str | Path | Mapping[str, Any], overrides: tuple[str, ...] | list[str] = ()
) -> RecipeConfig:
    """A recipe file, a shipped recipe's name, or a run directory (its config.yaml, in place) with overrides."""
    if isinstance(source, str | Path) and (Path(source) / "config.yaml").is_file():
        return load_recipe(Path(source) / "config.yaml", [f"output_dir={Path(source).absolute()}", *overrides])
    return load_recipe(source, overrides)


def run_recipe(
    config: str | Path | Mapping[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    start: str | None = None,
    until: str | None = None,
    dry_run: bool = False,
    python: str | None = None,
    on_stage: Progress | None = None,
) -> RunResult:
    """Load a recipe and run its stages in `<output_dir>` (runs/<name>/), resuming what is already done."""
    recipe = load_run_recipe(config, overrides)
    return _run(recipe, recipe_stages(recipe), start, until, dry_run, python, on_stage)


def run_stage(
    name: str,
    config: str | Path | Mapping[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    force: bool = False,
    dry_run: bool = False,
    python: str | None = None,
) -> RunResult:
    """Run one stage of a recipe in its run directory: skipped when done and unchanged, unless `force`."""
    recipe = load_run_recipe(config, overrides)
    stage = next((s for s in recipe_stages(recipe) if s.name == name), None)
    if stage is None:
        raise ConfigError(f"unknown stage {name!r}: stages are {', '.join(STAGE_NAMES)}")
    return _run(recipe, [stage], name if force or dry_run else None, None, dry_run, python, None)


def _run(
    recipe: RecipeConfig,
    stages: list[Stage],
    start: str | None,
    until: str | None,
    dry_run: bool,
    python: str | None,
    on_stage: Progress | None,
) -> RunResult:
    run_dir = Path(recipe.output_dir).absolute()
    if not dry_run:
        write_text(run_dir / "config.yaml", to_yaml(recipe))
    config = resolved_config(recipe)
    return run_stages(
        stages, run_dir, config, start=start, until=until, dry_run=dry_run, python=python, on_stage=on_stage
    )
