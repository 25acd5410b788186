"""Optional heavy imports at the point of use, failing with the exact install command."""

import importlib
from types import ModuleType

from videokr.errors import MissingDependencyError

# module name -> pip requirement that provides it
INSTALL_HINTS: dict[str, str] = {
    "torch": "torch==2.14.1 torchvision==0.29.1",
    "torchvision": "torch==2.14.1 torchvision==0.29.1",
    "transformers": "transformers (run `make setup` for the pinned cpu environment)",
    "tokenizers": "tokenizers",
    "jinja2": "jinja2",
    "huggingface_hub": "huggingface_hub",
    "matplotlib": "matplotlib",
    "rouge_score": "rouge-score",
    "verl": "verl[verl-core]==0.9.1",
    "ray": "'ray[default]' (verl[verl-core]==0.9.1 brings it)",
    "llamafactory": "llamafactory==0.9.5",
    "lmms_eval": "lmms-eval==0.7.3",
    # videokr build / data decontaminate
    **dict.fromkeys(
        ("openai", "tenacity", "jsonschema", "yt_dlp", "imagehash", "datasketch", "faiss"), "'videokr[corpus]'"
    ),
}


def require(module: str) -> ModuleType:
    """Import `module` or raise MissingDependencyError naming the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        hint = INSTALL_HINTS.get(top, top)
        raise MissingDependencyError(f"{module} is not installed: pip install {hint}") from exc
