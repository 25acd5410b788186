"""Fixtures of the explorer tests: a known run directory written by the project's own writers, and a browser.

The known run is a real run directory: the demo corpus (videokr.data.synth), the demo recipe's config.yaml, a
manifest written by videokr.run.graph.run_stages, each checkpoint's answers scored by the eval stage's own
`score_answers` (predictions.jsonl + scores/), and the real Report stage's metrics.json and plots. Only the model
outputs are synthetic (a fixed pattern of right and wrong letters per checkpoint), so the counts are known.
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from videokr.config import load_recipe, to_yaml
from videokr.config.evaluation import EvalConfig
from videokr.data.synth import generate_demo_corpus
from videokr.engines.lmms_eval import ANSWERS_FILE, score_answers
from videokr.io import append_jsonl, read_jsonl, write_jsonl, write_text
from videokr.records import Sample
from videokr.run.demo import DEMO_RECIPE, demo_overrides
from videokr.run.graph import run_stages
from videokr.run.stage import Stage, StageContext
from videokr.run.stages import Report, resolved_config
from videokr.scoring.rule import predicted_choice

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "explorer"
CHROMIUM = os.environ.get("VIDEOKR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODELS = ("base", "sft", "grpo", "grpo_blank_video")
N_EVAL = 12


def answers_right(model: str, index: int) -> bool:
    """Whether checkpoint `model` answers eval row `index` right (a fixed pattern, so every count is known)."""
    return {
        "base": index % 4 == 0,
        "sft": index % 3 != 0,
        "grpo": index % 3 != 0 or index % 2 == 0,
        "grpo_blank_video": index % 5 == 0,
    }[model]


def prediction(row: Mapping[str, Any], model: str, index: int) -> str:
    """A model output in the recipe's <think>/<answer> format, right or wrong by `answers_right`."""
    sample = Sample.from_raw(row)
    if model == "sft" and index == 2 and sample.options:
        return "I cannot tell from the clip."  # no option letter: scored wrong by rule
    if not sample.options:
        return f"<think>row {index}: the flame decides it</think><answer>{sample.solution}</answer>"
    truth = predicted_choice(sample.solution, sample.options)
    letters = [line[0] for line in sample.options]
    letter = truth if answers_right(model, index) else next(x for x in letters if x != truth)
    return f"<think>{model} looks at the flame of row {index}</think><answer>{letter}</answer>"


class StubStage(Stage):
    """A stage that leaves what an engine stage leaves for the explorer: command.sh and engine.log."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        write_text(ctx.stage_dir / "command.sh", f"#!/bin/sh\necho {self.name}\n")
        write_text(ctx.stage_dir / "engine.log", f"{self.name} ran\n")
        if self.name == "grpo":  # verl's per-step metrics, as videokr.engines.verl_metrics collects them
            steps = [{"step": s, "critic/score/mean": 0.2 * s, "actor/entropy": 1.0 / s} for s in range(1, 5)]
            write_jsonl(ctx.stage_dir / "metrics.jsonl", steps)
        return {"stub": True}


class ScoredEval(Stage):
    """The eval stage after lmms-eval answered: answers.jsonl per checkpoint, scored by the real score_answers."""

    name = "eval"

    def __init__(self, data_file: Path) -> None:
        self.data_file = data_file

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        rows = list(read_jsonl(self.data_file))
        for model in MODELS:
            stage = ctx.stage_dir / model
            stage.mkdir(parents=True, exist_ok=True)
            for index, row in enumerate(rows):
                append_jsonl(
                    stage / ANSWERS_FILE, {"id": row["problem_id"], "prediction": prediction(row, model, index)}
                )
            write_text(stage / "chunks" / "0000" / "command.sh", "#!/bin/sh\npython -m lmms_eval ...\n")
            score_answers(EvalConfig(model=f"/ckpt/{model}", data_file=str(self.data_file)), stage)
        return {"metrics": {m: str(ctx.stage_dir / m / "scores" / "metrics.json") for m in MODELS}}


@dataclass(frozen=True)
class KnownRun:
    """The run directory and the raw scores the page must agree with."""

    run_dir: Path
    scores: dict[str, list[dict[str, Any]]]  # model -> scores.jsonl lines, in row order
    rows: list[dict[str, Any]]

    def verdicts(self, model: str) -> list[bool | None]:
        """Each row's `correct` for `model`."""
        return [line["correct"] for line in self.scores[model]]


def build_known_run(run_dir: Path) -> KnownRun:
    """Write the known run into `run_dir` (see the module docstring)."""
    corpus = generate_demo_corpus(run_dir / "corpus", n_train=1, n_rl=0, n_eval=N_EVAL, n_caption=0, seed=3)
    recipe = load_recipe(DEMO_RECIPE, demo_overrides(run_dir))
    write_text(run_dir / "config.yaml", to_yaml(recipe))
    stubs = [StubStage(name) for name in ("prepare-sft", "sft", "prepare-rl", "grpo", "merge")]
    stages = [*stubs, ScoredEval(corpus.eval_file), Report(recipe)]
    run_stages(stages, run_dir, resolved_config(recipe), on_stage=lambda *_: None)
    scores = {m: list(read_jsonl(run_dir / "eval" / m / "scores" / "scores.jsonl")) for m in MODELS}
    return KnownRun(run_dir, scores, list(read_jsonl(corpus.eval_file)))


@pytest.fixture(scope="session")
def known_run(tmp_path_factory: pytest.TempPathFactory) -> KnownRun:
    """A finished run directory with four evaluated checkpoints (built once; treat it as read-only)."""
    return build_known_run(tmp_path_factory.mktemp("known-run") / "run")


def require_browser() -> None:
    """Skip (or, under VIDEOKR_REQUIRE_BROWSER=1 as in make test, fail) when Playwright or Chromium is missing."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = (
            "the Python package playwright is missing: pip install playwright==1.65.2 (never `playwright install`)"
        )
    if problem is None and not Path(CHROMIUM).is_file():
        problem = f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set VIDEOKR_CHROMIUM)"
    if problem is not None:
        if os.environ.get("VIDEOKR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"VIDEOKR_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no browser download, no network).

    Module-scoped on purpose: Playwright's sync API keeps an asyncio loop running in the main thread while it is
    open, and every later test that calls `asyncio.run` (verl's dataset, the HF rollout) would fail beside it.
    """
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class OpenedPage:
    """A page and the console errors and uncaught exceptions it raised."""

    page: Any
    errors: list[str]

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot to test-artifacts/explorer/NAME.png for a person to look at."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """`open_page(url) -> OpenedPage`: a fresh context per test, downloads allowed, errors collected."""
    contexts = []

    def opener(url: str) -> OpenedPage:
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        opened = OpenedPage(page, [])
        page.on("console", lambda msg: opened.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
        page.goto(url)
        return opened

    yield opener
    for context in contexts:
        context.close()
