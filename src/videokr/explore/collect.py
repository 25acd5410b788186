"""Gather a run directory into the explorer's page data: stages, metrics, plots and every scored eval row.

The eval stage leaves, per evaluated checkpoint, `eval/<name>/predictions.jsonl` (each eval row with its stable id
`_videokr_id` and the model's raw output) and `eval/<name>/scores/scores.jsonl` (videokr.scoring's verdict on
each, in the same order); the run's report leaves `metrics.json` and `plots/`. Nothing here re-scores or
re-extracts an answer: the page shows what the run recorded.
"""

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from videokr.errors import DataError
from videokr.explore.frames import extract_frames
from videokr.io import read_jsonl
from videokr.records import RowError, Sample

LOG = logging.getLogger(__name__)
ROW_ID_FIELD = "_videokr_id"  # written by videokr.engines.lmms_eval into every predictions row
PREFERRED_ORDER = ("base", "sft", "grpo")
MAX_LINKS = 12  # command.sh / engine.log links shown per stage (the eval stage has one pair per chunk)


def collect_run(run_dir: str | Path, site_dir: str | Path, *, frames: int = 0) -> dict[str, Any]:
    """The page data of `run_dir`; links are relative to `site_dir`, where `frames` JPEGs per video are written."""
    run, site = Path(run_dir).absolute(), Path(site_dir).absolute()
    if not run.is_dir():
        raise DataError(f"run directory {run} does not exist")
    models = evaluated_models(run)
    return {
        "run": {"name": run.name, "dir": str(run), "written": time.strftime("%Y-%m-%d %H:%M:%S")},
        "stages": collect_stages(run, site),
        "models": [{"name": name, "path": _model_path(run, name)} for name in models],
        "metrics": {name: _load_json(run / "eval" / name / "scores" / "metrics.json") for name in models},
        "plots": copy_plots(run, site),
        "samples": collect_samples(run, site, models, frames=frames),
    }


def order_models(names: list[str]) -> list[str]:
    """base, sft, grpo first (the recipe's order), then controls and other names alphabetically.

    >>> order_models(["grpo_blank_video", "grpo", "base", "sft"])
    ['base', 'sft', 'grpo', 'grpo_blank_video']
    """
    rank = {name: index for index, name in enumerate(PREFERRED_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def evaluated_models(run: Path) -> list[str]:
    """The checkpoints of the eval stage that left scored predictions."""
    found = [p.parent.name for p in (run / "eval").glob("*/predictions.jsonl") if (p.parent / "scores").is_dir()]
    return order_models(found)


def collect_stages(run: Path, site: Path) -> list[dict[str, Any]]:
    """Each stage of the manifest, in graph order: status, times, duration, error and links to its files."""
    manifest = _load_json(run / "manifest.json")
    stages = []
    for name, entry in (manifest.get("stages") or {}).items():
        stage_dir = run / name
        links = []
        for pattern in ("command.sh", "engine.log"):
            found = sorted(stage_dir.rglob(pattern)) if stage_dir.is_dir() else []
            links += [{"label": str(p.relative_to(run)), "href": _href(p, site)} for p in found[:MAX_LINKS]]
        stages.append(
            {
                "name": name,
                "status": entry.get("status", "unknown"),
                "started": entry.get("started"),
                "ended": entry.get("ended"),
                "seconds": _duration(entry.get("started"), entry.get("ended")),
                "error": entry.get("error"),
                "links": links,
            }
        )
    return stages


def copy_plots(run: Path, site: Path) -> list[str]:
    """Copy RUN/plots/*.png into the site (so a copy of the site alone keeps them); their site-relative paths."""
    copied = []
    # the training curves first, then the accuracy plots
    for png in sorted((run / "plots").glob("*.png"), key=lambda p: (not p.name.startswith("grpo_"), p.name)):
        target = site / "plots" / png.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
        copied.append(f"plots/{png.name}")
    return copied


def collect_samples(run: Path, site: Path, models: list[str], *, frames: int = 0) -> list[dict[str, Any]]:
    """One entry per eval row (in the first model's order) with every model's output and verdict."""
    samples: dict[str, dict[str, Any]] = {}
    video_root = _video_root(run)
    for model in models:
        for row, score in _scored_rows(run / "eval" / model):
            row_id = str(row.get(ROW_ID_FIELD) or score.get("id"))
            if row_id not in samples:
                samples[row_id] = _sample_entry(row_id, row, video_root, site, frames)
            samples[row_id]["results"][model] = {
                "prediction": str(row.get("prediction", "")),
                "extracted": score.get("extracted"),
                "correct": score.get("correct"),
                "mode": score.get("mode"),
                "reason": score.get("reason"),
            }
    return list(samples.values())


def _scored_rows(model_dir: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(predictions row, scores line) pairs; scores.jsonl keeps the order of predictions.jsonl."""
    predictions = list(read_jsonl(model_dir / "predictions.jsonl"))
    scores_file = model_dir / "scores" / "scores.jsonl"
    scores = list(read_jsonl(scores_file)) if scores_file.is_file() else []
    if len(scores) != len(predictions):
        raise DataError(
            f"{model_dir}: {len(predictions)} predictions but {len(scores)} scores: re-run the eval stage "
            f"(videokr run RECIPE --from eval) to score them again"
        )
    return list(zip(predictions, scores, strict=True))


def _sample_entry(
    row_id: str, row: Mapping[str, Any], video_root: Path | None, site: Path, frames: int
) -> dict[str, Any]:
    try:
        sample = Sample.from_raw(row)
        fields = {
            "question": sample.question,
            "options": list(sample.options),
            "answer": sample.solution,
            "problem_type": sample.problem_type,
            "skill": sample.skill,
            "subject": sample.subject,
            "dataset": sample.dataset,
        }
        video_path = sample.video_path
    except RowError as exc:
        fields = {"question": str(row.get("question", "")), "options": [], "answer": "", "problem": str(exc)}
        fields.update(problem_type="unknown", skill=None, subject=None, dataset=None)
        video_path = None
    return {"id": row_id, **fields, "video": _video(video_path, video_root, site, frames, row_id), "results": {}}


def _video(video_path: str | None, root: Path | None, site: Path, frames: int, row_id: str) -> dict[str, Any]:
    """Where the page finds the clip: a link to the file when it exists, and the frames extracted from it."""
    if not video_path:
        return {"path": None, "src": None, "frames": []}
    path = Path(video_path) if Path(video_path).is_absolute() or root is None else root / video_path
    if not path.is_file():
        return {"path": str(path), "src": None, "frames": []}
    stills: list[str] = []
    if frames > 0:
        folder = site / "frames" / _safe_name(row_id)
        stills = [_href(p, site) for p in extract_frames(path, folder, frames)]
    return {"path": str(path), "src": _href(path, site), "frames": stills}


def _video_root(run: Path) -> Path | None:
    """The eval clips' root from the run's config.yaml: eval.video_root, else data.video_root, else the data dir."""
    config = run / "config.yaml"
    if not config.is_file():
        return None
    loaded = yaml.safe_load(config.read_text()) or {}
    section = loaded.get("eval") or {}
    root = section.get("video_root") or (loaded.get("data") or {}).get("video_root")
    if not root and section.get("data_file"):
        root = str(Path(section["data_file"]).parent)
    return Path(root).absolute() if root else None


def _model_path(run: Path, name: str) -> str | None:
    path = run / "eval" / name / "scores" / "model.txt"
    return path.read_text().strip() if path.is_file() else None


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _href(path: Path, site: Path) -> str:
    """A URL to `path` relative to the site folder (works from file:// and from the --serve server)."""
    return quote(Path(os.path.relpath(path.absolute(), site)).as_posix())


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "row"


def _duration(started: str | None, ended: str | None) -> float | None:
    fmt = "%Y-%m-%dT%H:%M:%S%z"
    try:
        return (time.mktime(time.strptime(ended or "", fmt)) - time.mktime(time.strptime(started or "", fmt))) or 0.0
    except ValueError:
        return None
