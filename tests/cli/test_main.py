"""The root parser: entry points, version, help, a light import, and one test module per noun."""

import subprocess
import sys
from pathlib import Path

import pytest

from videokr import __version__
from videokr.cli import COMMAND_MODULES, build_parser, main

HEAVY = ("torch", "transformers", "verl", "llamafactory", "lmms_eval", "vllm", "ray", "deepspeed")


def test_version_flag_prints_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"videokr {__version__}"


def test_no_command_prints_help_and_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: videokr" in capsys.readouterr().out


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "videokr", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"videokr {__version__}"


def test_import_cli_and_build_parser_loads_no_heavy_module() -> None:
    code = (
        "import sys, videokr.cli; videokr.cli.build_parser(); "
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_build_parser_loads_neither_numpy_nor_pyav() -> None:
    # every command pays for what its parser imports: 0.2 s for these two (a 20K-row prepare-sft takes ~0.5 s)
    code = "import sys, videokr.cli; videokr.cli.build_parser(); print(sorted({'numpy', 'av'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_importtime_of_cli_shows_no_heavy_module() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import videokr.cli"], capture_output=True, text=True, check=True
    )
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert imported, "importtime printed nothing"
    assert not imported & set(HEAVY)


def test_every_noun_has_help() -> None:
    parser = build_parser()
    nouns = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"env"} <= set(nouns)
    for name, sub in nouns.items():
        assert sub.format_help().startswith("usage: videokr"), name


def test_every_listed_command_module_registers_its_noun() -> None:
    nouns = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(COMMAND_MODULES) <= set(nouns), "a listed module without its command"


def test_the_single_stage_verbs_take_a_recipe_and_overrides_and_a_dry_run() -> None:
    parser = build_parser()
    for argv in (["train", "sft"], ["train", "grpo"], ["merge"], ["report"], ["eval", "run"]):
        args = parser.parse_args([*argv, "qwen2_5vl", "output_dir=runs/x", "--dry-run", "--force"])
        assert (args.config, args.overrides, args.dry_run, args.force) == (
            "qwen2_5vl",
            ["output_dir=runs/x"],
            True,
            True,
        )


def test_every_noun_has_its_test_module() -> None:
    here = Path(__file__).parent
    missing = [f"tests/cli/test_{noun}.py" for noun in COMMAND_MODULES if not (here / f"test_{noun}.py").is_file()]
    assert missing == [], "a noun of videokr.cli without the tests of its command line"
