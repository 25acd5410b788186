"""`videokr build`: the demo through the command line, one stage's dry run, and the verbs' errors."""

from pathlib import Path

import pytest

from videokr.cli import main


def test_build_demo_then_a_single_stage_verb_is_skipped_as_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["build", "demo", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "qc dropped: video-dependency-text 4" in printed and "rationale 2" in printed
    assert main(["data", "validate", str(out / "split" / "sft.jsonl")]) == 0
    assert main(["build", "qc", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert main(["build", "split", str(out), "--dry-run"]) == 0
    assert "split" in capsys.readouterr().out


def test_build_without_arguments_prints_its_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 2
    assert "review export" in capsys.readouterr().out


def test_build_with_an_unknown_model_names_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "build-demo", f"output_dir={tmp_path}", "generate.models=[gpt]"]) == 1
    assert "unknown model(s) gpt" in capsys.readouterr().err
