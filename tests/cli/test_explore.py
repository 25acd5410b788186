"""`videokr explore RUN_DIR [--out DIR] [--serve ...]` and the explorer line `videokr run` / `videokr demo` print."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from videokr.cli import main
from videokr.cli.explore import explorer_line
from videokr.run.graph import run_stages
from videokr.run.stage import Stage, StageContext


class Noop(Stage):
    name = "prepare-sft"

    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        return {}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run with one finished stage and no evaluation yet: the run page still has its stages."""
    run = tmp_path / "run"
    run_stages([Noop()], run, {}, on_stage=lambda *_: None)
    return run


def test_explore_writes_the_site_and_prints_its_path(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", str(run_dir), "--out", str(tmp_path / "site")]) == 0
    assert capsys.readouterr().out.strip() == f"explorer: {tmp_path / 'site' / 'index.html'}"
    data = (tmp_path / "site" / "data.js").read_text()
    assert '"name":"prepare-sft","status":"done"' in data and '"samples":[]' in data


def test_explore_defaults_to_run_dir_explorer(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(run_dir)]) == 0
    assert (run_dir / "explorer" / "samples.html").is_file()


def test_explore_refuses_review_without_serve(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", str(run_dir), "--review", str(tmp_path / "x.jsonl")]) == 1
    assert "--review needs --serve" in capsys.readouterr().err


def test_explore_of_a_missing_run_dir_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(tmp_path / "absent")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_explorer_line_writes_run_dir_explorer_or_reports_why_not(run_dir: Path, tmp_path: Path) -> None:
    assert explorer_line(run_dir) == f"explorer: {run_dir / 'explorer' / 'index.html'}"
    line = explorer_line(tmp_path / "absent")
    assert line.startswith("explorer: not written (run directory") and "videokr explore" in line


def test_run_and_demo_print_the_explorer_they_wrote(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from videokr.run import demo, graph, stages

    result = graph.RunResult(run_dir, ("prepare-sft",), (), graph.load_manifest(run_dir))
    monkeypatch.setattr(stages, "run_recipe", lambda *args, **kwargs: result)
    monkeypatch.setattr(demo, "run_demo", lambda *args, **kwargs: result)
    (run_dir / "metrics.json").write_text("{}")  # what the demo's bar reads
    index = run_dir / "explorer" / "index.html"

    assert main(["run", "qwen2_5vl"]) == 0
    assert f"explorer: {index}\n" in capsys.readouterr().out and index.is_file()
    index.unlink()
    assert main(["demo", "--small", "--output", str(run_dir)]) == 0
    assert f"explorer: {index}\n" in capsys.readouterr().out and index.is_file()
