"""`videokr demo`: the whole chain on the built-in synthetic corpus, and the bar it must meet.

The demo is the shipped `demo` recipe (src/videokr/recipes/demo.yaml) preceded by one more stage, `demo-inputs`, which writes the
corpus and the perception-trained base model (videokr.demo). Everything runs through the same pipeline as
`videokr run`, so a killed demo resumes where it stopped. The bar (issue 8, DESIGN.md section 6): held-out
multiple-choice accuracy of base <= chance + 10, sft >= 80, grpo >= sft - 2, grpo on blanked clips <= chance + 15.
"""

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.config import load_recipe, to_yaml
from videokr.demo import DemoSettings, TrainSettings, prepare_demo_inputs
from videokr.deps import require
from videokr.errors import ConfigError
from videokr.io import write_text
from videokr.pipeline import RunResult, Stage, StageContext, run_stages
from videokr.recipes import RECIPES_DIR
from videokr.stages import recipe_stages, resolved_config

CHANCE = 25.0  # four options per multiple-choice question
DEMO_RECIPE = RECIPES_DIR / "demo.yaml"

# A seconds-scale variant for tests: a tiny corpus, a short perception stage and a few engine steps.
SMALL_SETTINGS = DemoSettings(
    n_train=24, n_rl=12, n_eval=8, n_caption=16, perception=TrainSettings(steps=10, batch_size=8)
)
SMALL_OVERRIDES = (
    "data.rl_val_size=4",
    "sft.max_steps=4",
    "sft.per_device_train_batch_size=4",
    "grpo.total_training_steps=1",
    "grpo.train_batch_size=2",
    "grpo.ppo_mini_batch_size=2",
    "grpo.rollout_n=4",
    "grpo.max_response_length=16",
    "grpo.save_freq=1",
    "eval.generation.max_new_tokens=16",
)


@dataclasses.dataclass(frozen=True)
class BarCheck:
    """One line of the demo's bar: the measured value, the target and whether it holds."""

    name: str
    value: float | None
    target: str
    ok: bool


def demo_overrides(out: Path) -> list[str]:
    """Point every path of demo.yaml at `out` (the recipe's own paths assume runs/demo)."""
    corpus = out / "corpus"
    return [
        f"output_dir={out}",
        f"model.path={out / 'base'}",
        f"data.sft_file={corpus / 'demo_cot.jsonl'}",
        f"data.rl_file={corpus / 'demo_rl.jsonl'}",
        f"data.eval_file={corpus / 'demo_eval.jsonl'}",
        f"data.video_root={corpus}",
        f"eval.data_file={corpus / 'demo_eval.jsonl'}",
        f"eval.video_root={corpus}",
        f"eval.blank_video_root={corpus / 'blank'}",
    ]


def run_demo(
    out: str | Path = "runs/demo",
    overrides: Sequence[str] = (),
    *,
    small: bool = False,
    recipe_path: str | Path = DEMO_RECIPE,
    start: str | None = None,
    on_stage: Callable[[int, int, str, Any], None] | None = None,
) -> RunResult:
    """Run the demo chain into `out`; `small` shrinks it to a smoke test of every stage."""
    out = Path(out).absolute()
    settings = SMALL_SETTINGS if small else DemoSettings()
    every = [*demo_overrides(out), *(SMALL_OVERRIDES if small else ()), *overrides]
    recipe = load_recipe(recipe_path, every)
    inputs = Stage(
        "demo-inputs",
        lambda ctx: _prepare_inputs(ctx, settings),
        config_keys=("demo",),
    )
    config = {**resolved_config(recipe), "demo": dataclasses.asdict(settings)}
    write_text(out / "config.yaml", to_yaml(recipe))
    return run_stages([inputs, *recipe_stages(recipe)], out, config, start=start, on_stage=on_stage)


def _prepare_inputs(ctx: StageContext, settings: DemoSettings) -> Mapping[str, Any]:
    # The perception stage trains in this process: one thread is fastest for the tiny model, and about ten times
    # faster than two when anything else shares the cores (benchmarks/demo_learning.py); OMP_NUM_THREADS wins.
    require("torch").set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    inputs = prepare_demo_inputs(ctx.run_dir, settings)
    return {"corpus": str(inputs.corpus.root), "base_model": str(inputs.base_model)}


def check_bar(metrics_path: str | Path) -> list[BarCheck]:
    """The demo's bar against runs/demo/metrics.json ({"base": {"accuracy": .., "n": ..}, ...})."""
    path = Path(metrics_path)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: run the demo first")
    metrics = json.loads(path.read_text())

    def accuracy(name: str) -> float | None:
        value = metrics.get(name, {}).get("accuracy")
        return None if value is None else float(value)

    base, sft, grpo, blank = (accuracy(n) for n in ("base", "sft", "grpo", "grpo_blank_video"))
    return [
        BarCheck("base", base, f"<= {CHANCE + 10:.0f}", base is not None and base <= CHANCE + 10),
        BarCheck("sft", sft, ">= 80", sft is not None and sft >= 80),
        BarCheck("grpo", grpo, ">= sft - 2", None not in (grpo, sft) and grpo >= sft - 2),  # type: ignore[operator]
        BarCheck("grpo_blank_video", blank, f"<= {CHANCE + 15:.0f}", blank is not None and blank <= CHANCE + 15),
    ]
