"""videokr.plugins runs inside the engines only: nothing else imports it, and the names it shares are inert."""

import ast
import subprocess
import sys
from pathlib import Path

import videokr

PACKAGE = Path(videokr.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_outside_the_plugins_imports_one() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "plugins" in path.parents:
            continue
        hits = sorted(
            name for name in _imports(path) if name == "videokr.plugins" or name.startswith("videokr.plugins.")
        )
        if hits:
            offenders[str(path.relative_to(PACKAGE))] = hits
    assert offenders == {}


def test_the_checker_sees_an_import_when_there_is_one(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from videokr.plugins import verl_cpu\n")
    assert "videokr.plugins.verl_cpu" in _imports(sample)


def test_the_shared_names_import_nothing_heavy() -> None:
    probe = "import sys, videokr.engines.hooks; print(sorted(m for m in ('torch', 'verl', 'vllm', 'lmms_eval') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_names_point_at_real_plugin_modules() -> None:
    from videokr.engines import hooks

    for dotted in (hooks.VERL_CPU_MODULE, hooks.VERL_VLLM_MODULE, hooks.LMMS_EVAL_VLLM_CLASS.rsplit(".", 1)[0]):
        assert (PACKAGE.parent / (dotted.replace(".", "/") + ".py")).is_file(), dotted
    module = hooks.VLLM_QWEN2_5_VL_CLASS.split(":")[0]
    assert (PACKAGE.parent / (module.replace(".", "/") + ".py")).is_file()
