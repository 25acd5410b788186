"""`videokr demo`: the whole chain on the built-in corpus; --dry-run prints every stage and writes nothing.

The demo itself, killed and resumed, is an integration test (tests/integration/test_demo_resume.py).
"""

from pathlib import Path

import pytest

from videokr.cli import main
from videokr.run.stages import STAGE_NAMES


def test_small_dry_run_prints_every_stage_inside_the_output_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--small", "--output", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    headers = [line.removeprefix("== ") for line in printed.splitlines() if line.startswith("== ")]
    assert headers == ["demo-inputs", *STAGE_NAMES]
    assert f"videokr report {out}" in printed and f"--model {out / 'merge' / 'hf'}" in printed
    assert not out.exists(), "a dry run writes nothing"


def test_from_takes_only_the_demo_stages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--from", "nope", "--dry-run"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
