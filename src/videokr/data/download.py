"""Download VideoKR-Train / VideoKR-Eval from the Hugging Face hub and extract their video archives safely.

Layout under `--root` (PROTOCOL.md sections 1 and 4): `<root>/VideoKR-Train/{VideoKR-COT-201K.jsonl,
VideoKR-RL-114K.jsonl, Videos/...}` with the archives extracted in `Videos/` (rows' `videos_XXXX/<id>.mp4`
paths resolve through `<root>/Videos/`), and `<root>/VideoKR-Eval/{VideoKR_eval.jsonl, <video paths>}`.
The downloader is injectable (tests, mirrors); the default is `huggingface_hub.snapshot_download`.
"""

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videokr.data.archives import ExtractReport, extract_archives, find_archives
from videokr.deps import require
from videokr.errors import DataError

log = logging.getLogger(__name__)

# snapshot_download-compatible: called by keyword, returns the local directory.
Downloader = Callable[..., str]


@dataclass(frozen=True)
class HubDataset:
    """One published dataset repository and what to fetch from it."""

    key: str
    repo_id: str
    local_name: str
    allow_patterns: tuple[str, ...]
    archives_subdir: str | None


VIDEO_PATTERNS = ("*.mp4", "*.mkv", "*.webm", "*.avi", "*.mov")
DATASETS: dict[str, HubDataset] = {
    "train": HubDataset(
        "train",
        "minuzero/VideoKR-Train",
        "VideoKR-Train",
        ("*.jsonl", "*.md", "Videos/*.tar", "Videos/*.tar.part.*"),
        "Videos",
    ),
    "eval": HubDataset("eval", "minuzero/VideoKR-Eval", "VideoKR-Eval", ("*.jsonl", "*.md", *VIDEO_PATTERNS), None),
}


@dataclass
class DownloadResult:
    """Where each dataset landed and what extraction did."""

    paths: dict[str, Path] = field(default_factory=dict)
    extracted: dict[str, ExtractReport] = field(default_factory=dict)


def parse_what(what: str | Sequence[str]) -> list[str]:
    """`train,eval` -> ["train", "eval"], validated."""
    items = [w.strip() for w in (what.split(",") if isinstance(what, str) else what) if w.strip()]
    unknown = [w for w in items if w not in DATASETS]
    if unknown or not items:
        raise DataError(f"--what: unknown dataset {unknown[0] if unknown else '(none)'}; choose from train, eval")
    return items


def hub_downloader() -> Downloader:
    """huggingface_hub.snapshot_download (imported only when used)."""
    hub = require("huggingface_hub")
    download: Downloader = hub.snapshot_download
    return download


def download_datasets(
    root: str | os.PathLike[str],
    what: str | Sequence[str] = ("train", "eval"),
    downloader: Downloader | None = None,
    extract: bool = True,
    revision: str | None = None,
) -> DownloadResult:
    """Fetch the chosen datasets into `root` and extract their archives (idempotent: re-runs skip finished work)."""
    fetch = downloader or hub_downloader()
    result = DownloadResult()
    for key in parse_what(what):
        spec = DATASETS[key]
        local = Path(root) / spec.local_name
        local.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {
            "repo_id": spec.repo_id,
            "repo_type": "dataset",
            "local_dir": str(local),
            "allow_patterns": list(spec.allow_patterns),
        }
        if revision:
            kwargs["revision"] = revision
        log.info("downloading %s into %s", spec.repo_id, local)
        try:
            path = Path(fetch(**kwargs))
        except Exception as exc:  # the hub client raises many types; report one line
            raise DataError(f"download of {spec.repo_id} failed: {type(exc).__name__}: {exc}") from exc
        result.paths[key] = path
        if extract and spec.archives_subdir:
            archives = path / spec.archives_subdir
            if archives.is_dir() and find_archives(archives):
                result.extracted[key] = extract_archives(archives, archives)
    return result
