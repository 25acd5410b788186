"""The `youtube` video source through yt-dlp: search per scenario, Creative Commons only, metadata first.

`plan_searches` turns scenarios into yt-dlp searches (`ytsearchN:keywords`) and `ydl_options` into the options
a metadata-only pass and a bounded-resolution download use: a pure plan, printed by `--dry-run`. `select_videos`
keeps entries whose licence is Creative Commons and whose duration fits, recording source id and licence, and says
why it dropped the others. `search_metadata` and `download_videos` are the only functions that touch the network;
the tests replay a recorded metadata fixture instead (`collect.youtube.metadata_file`), as an offline build can.
"""

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.build.config import YoutubeConfig
from videokr.deps import require


def plan_searches(scenarios: Iterable[Mapping[str, Any]], settings: YoutubeConfig) -> list[dict[str, str]]:
    """One search per scenario: its id, its knowledge point and the yt-dlp query.

    >>> plan_searches([{"scenario_id": "s1", "knowledge_id": "k", "keywords": ["flame test", "sodium"]}], YoutubeConfig(per_query=3))
    [{'scenario_id': 's1', 'knowledge_id': 'k', 'query': 'ytsearch3:flame test sodium creative commons'}]
    """
    return [
        {
            "scenario_id": str(s["scenario_id"]),
            "knowledge_id": str(s["knowledge_id"]),
            # YouTube's own search has a Creative Commons filter only in its web UI; the keyword biases the search
            # and select_videos enforces the licence from each video's metadata
            "query": f"ytsearch{settings.per_query}:{' '.join(s['keywords'])} creative commons",
        }
        for s in scenarios
    ]


def ydl_options(settings: YoutubeConfig, *, download: bool) -> dict[str, Any]:
    """yt-dlp options: metadata only, or a download capped at `max_height` with the info json beside it."""
    options: dict[str, Any] = {"quiet": True, "no_warnings": True, "skip_download": not download, "noplaylist": True}
    if download:
        height = settings.max_height
        options |= {
            "format": f"bv*[height<={height}][ext=mp4]+ba[ext=m4a]/b[height<={height}]/bv*[height<={height}]",
            "merge_output_format": "mp4",
            "outtmpl": str(Path(settings.download_dir or "videos") / "youtube" / "%(id)s.%(ext)s"),
            "writeinfojson": True,
        }
    return options


def select_videos(
    entries: Iterable[Mapping[str, Any]], search: Mapping[str, str], settings: YoutubeConfig
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The rows of the entries that pass (Creative Commons, duration in range) and the dropped ones with a reason."""
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, str]] = []
    for entry in entries:
        reason = _reject(entry, settings)
        if reason:
            dropped.append({"source_id": str(entry.get("id", "")), "reason": reason})
            continue
        kept.append(
            {
                "video_id": f"youtube:{entry['id']}",
                "video_path": f"youtube/{entry['id']}.mp4",
                "source": "youtube",
                "source_id": str(entry["id"]),
                "licence": str(entry["license"]),
                "title": str(entry.get("title", "")),
                "description": str(entry.get("description", ""))[:2000],
                "duration": entry.get("duration"),
                "url": str(entry.get("webpage_url", "")),
                "knowledge_id": search["knowledge_id"],
                "scenario_id": search["scenario_id"],
            }
        )
    return kept, dropped


def _reject(entry: Mapping[str, Any], settings: YoutubeConfig) -> str:
    if not entry.get("id"):
        return "no id"
    licence = str(entry.get("license") or "")
    if settings.licence_contains.lower() not in licence.lower():
        return f"licence {licence or 'unknown'!r} is not {settings.licence_contains}"
    duration = entry.get("duration")
    if not isinstance(duration, int | float):
        return "unknown duration"
    if not settings.min_duration_s <= duration <= settings.max_duration_s:
        return f"duration {duration} s outside [{settings.min_duration_s:g}, {settings.max_duration_s:g}]"
    return ""


def search_metadata(searches: Sequence[Mapping[str, str]], settings: YoutubeConfig) -> dict[str, list[dict[str, Any]]]:
    """Run each search with yt-dlp, metadata only (network): query -> the info dicts of its entries."""
    yt_dlp = require("yt_dlp")
    found: dict[str, list[dict[str, Any]]] = {}
    with yt_dlp.YoutubeDL(ydl_options(settings, download=False)) as ydl:
        for search in searches:
            info = ydl.extract_info(search["query"], download=False)
            found[search["query"]] = [dict(e) for e in (info or {}).get("entries", []) if e]
    return found


def download_videos(rows: Sequence[Mapping[str, Any]], settings: YoutubeConfig) -> list[str]:
    """Download the selected videos at bounded resolution (network); the source ids that failed."""
    yt_dlp = require("yt_dlp")
    failed = []
    with yt_dlp.YoutubeDL(ydl_options(settings, download=True)) as ydl:
        for row in rows:
            try:
                ydl.download([row["url"] or f"https://www.youtube.com/watch?v={row['source_id']}"])
            except yt_dlp.utils.DownloadError:
                failed.append(str(row["source_id"]))
    return failed
