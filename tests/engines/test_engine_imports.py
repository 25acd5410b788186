"""Every engine entry module a stage launches imports in its environment: a broken dependency fails here in
seconds, by name, instead of after minutes of a demo (filelock 4.3 broke lmms-eval's evaluator that way)."""

import json
import subprocess

import pytest

from videokr.engines import envs

# What the stages run: `python -m lmms_eval`, `llamafactory-cli train`, verl's trainer and model merger.
ENTRY_MODULES = {
    "eval": ("lmms_eval.__main__", "lmms_eval.evaluator"),
    "sft": ("llamafactory.cli", "llamafactory.train.tuner"),
    "rl": ("verl.trainer.main_ppo", "verl.model_merger"),
}

_IMPORT_EACH = """
import importlib, json, sys, traceback
failures = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failures[name] = f"{type(exc).__name__}: {exc}\\n" + "".join(traceback.format_exc(limit=-3))
print(json.dumps(failures))
"""


@pytest.fixture(scope="module")
def import_failures() -> dict[str, str]:
    """Import every entry module once per stage environment (one interpreter per environment)."""
    by_python: dict[str, list[str]] = {}
    for stage, modules in ENTRY_MODULES.items():
        by_python.setdefault(envs.stage_python(stage), []).extend(modules)  # type: ignore[arg-type]
    failures: dict[str, str] = {}
    for python, modules in by_python.items():
        result = subprocess.run([python, "-c", _IMPORT_EACH, *modules], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        failures.update(json.loads(result.stdout.splitlines()[-1]))
    return failures


@pytest.mark.parametrize("module", [name for modules in ENTRY_MODULES.values() for name in modules])
def test_engine_entry_module_imports(module: str, import_failures: dict[str, str]) -> None:
    assert module not in import_failures, f"`import {module}` failed:\n{import_failures[module]}"
