"""lmms-eval tasks shipped with videokr; pass this directory (or a per-run copy) to lmms-eval's --include_path."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
VIDEOKR_EVAL_DIR = TASKS_DIR / "videokr_eval"
GENERAL_DIR = TASKS_DIR / "general"
