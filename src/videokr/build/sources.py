"""The `local` video source: a folder of videos, or a catalog jsonl with a licence and a source id per video.

Every collected video becomes one row of `videos.jsonl`: video_id, video_path (relative to the collect's video
root), source, source_id, licence, title, description and, when the catalog says so, the knowledge point it shows.
A catalog row without a licence or a source id, or naming a missing file, is reported (file, line, reason) and
skipped; the rest is collected.
"""

from pathlib import Path
from typing import Any

from videokr.build.bank import Issue, read_objects
from videokr.build.config import CollectConfig
from videokr.errors import ConfigError

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi"})


def collect_folder(folder: str | Path, licence: str) -> tuple[list[dict[str, Any]], Path]:
    """Every video file under `folder` (sorted), all under one licence; the rows and their video root."""
    root = Path(folder).absolute()
    if not root.is_dir():
        raise ConfigError(f"collect.folder {root} is not a folder")
    if not licence.strip():
        raise ConfigError("collect.licence is empty: a folder source needs the licence of its videos")
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()):
        relative = path.relative_to(root).as_posix()
        rows.append(_row("local", relative, relative, licence.strip(), {"title": path.stem}))
    return rows, root


def collect_catalog(catalog: str | Path, video_root: str = "") -> tuple[list[dict[str, Any]], list[Issue], Path]:
    """The sound rows of a catalog jsonl, the issues of the others, and the video root paths are relative to."""
    root = Path(video_root).absolute() if video_root else Path(catalog).absolute().parent
    rows: list[dict[str, Any]] = []
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for line, entry in read_objects(catalog):
        if isinstance(entry, Issue):
            issues.append(entry)
            continue
        problem, relative = _check_entry(entry, root, seen)
        if problem:
            issues.append(Issue(str(catalog), line, problem))
            continue
        seen[str(entry["source_id"])] = line
        rows.append(_row("local", relative, str(entry["source_id"]), str(_licence(entry)), entry))
    return rows, issues, root


def _licence(entry: dict[str, Any]) -> str:
    return str(entry.get("licence") or entry.get("license") or "").strip()


def _check_entry(entry: dict[str, Any], root: Path, seen: dict[str, int]) -> tuple[str, str]:
    path = entry.get("video_path") or entry.get("path")
    if not isinstance(path, str) or not path.strip():
        return "no video_path", ""
    if not str(entry.get("source_id") or "").strip():
        return "no source_id (the id of the video at its source, for decontamination)", ""
    if not _licence(entry):
        return "no licence: only videos with a known licence are collected", ""
    if str(entry["source_id"]) in seen:
        return f"duplicate source_id {entry['source_id']!r} (first on line {seen[str(entry['source_id'])]})", ""
    full = (root / path).resolve()
    if not full.is_relative_to(root.resolve()):
        return f"video_path {path!r} leaves the video root {root}", ""
    if not full.is_file():
        return f"video file {full} does not exist", ""
    return "", full.relative_to(root.resolve()).as_posix()


def _row(source: str, relative: str, source_id: str, licence: str, entry: dict[str, Any]) -> dict[str, Any]:
    row = {
        "video_id": f"{source}:{source_id}",
        "video_path": relative,
        "source": source,
        "source_id": source_id,
        "licence": licence,
        "title": str(entry.get("title", "")),
        "description": str(entry.get("description", "")),
    }
    for key in ("knowledge_id", "duration"):
        if entry.get(key) is not None:
            row[key] = entry[key]
    return row


def collect_local(settings: CollectConfig) -> tuple[list[dict[str, Any]], list[Issue], Path]:
    """The local source: the catalog when one is named, else the folder."""
    if settings.catalog:
        return collect_catalog(settings.catalog, settings.video_root)
    if settings.folder:
        rows, root = collect_folder(settings.folder, settings.licence)
        return rows, [], root
    raise ConfigError("collect.source is local but neither collect.catalog nor collect.folder is set")
