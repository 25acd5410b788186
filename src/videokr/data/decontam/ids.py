"""Source ids (YouTube and other platforms) read from a row's id fields, any URL in it, and its video file name.

An id is `platform:value`, e.g. `youtube:dQw4w9WgXcQ`. Both sides of a decontamination are read the same way, so
a training row and a benchmark row that name the same upload share an id whatever their spelling: Video-MME's
`videoID` and `url`, MMVU's `youtube_url`, VideoMMMU's `link_selected`, or a file saved as `<id>.mp4` or by
yt-dlp as `Title [<id>].mp4`.
"""

import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

YOUTUBE_ID = r"[A-Za-z0-9_-]{11}"
URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "youtube",
        re.compile(
            r"(?:youtube(?:-nocookie)?\.com/(?:watch\?(?:\S*?&)?v=|embed/|shorts/|live/|v/)|youtu\.be/)"
            rf"({YOUTUBE_ID})(?![A-Za-z0-9_-])"
        ),
    ),
    ("vimeo", re.compile(r"vimeo\.com/(?:video/)?(\d{5,12})\b")),
    ("bilibili", re.compile(r"bilibili\.com/video/(BV[0-9A-Za-z]{10})\b")),
    ("dailymotion", re.compile(r"dailymotion\.com/video/([0-9a-zA-Z]{5,9})\b")),
    ("tiktok", re.compile(r"tiktok\.com/@[^/\s]+/video/(\d{15,20})\b")),
)
# Fields that hold a bare platform id (lower-cased names).
ID_FIELDS: dict[str, str] = {
    "youtube_id": "youtube",
    "yt_id": "youtube",
    "ytid": "youtube",
    "videoid": "youtube",
    "video_id": "youtube",
    "youtube": "youtube",
    "vid": "youtube",
}
BARE_YOUTUBE_RE = re.compile(rf"^{YOUTUBE_ID}$")
# A file stem that is only an id must look like one: 11 base64url characters with both letter cases, whose last
# character carries 2 bits of padding (one of 16). `clip_000001` and `lecture_day` do not pass.
STEM_YOUTUBE_RE = re.compile(r"^(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]$")
BRACKET_YOUTUBE_RE = re.compile(rf"\[({YOUTUBE_ID})\]$")  # yt-dlp's default output name: `Title [id].ext`
MAX_DEPTH = 3


def source_ids(row: Mapping[str, Any], video_path: str | None = None) -> set[str]:
    """Every `platform:id` a row names in its id fields, its URLs and its video file name."""
    found: set[str] = set()
    for key, value in _items(row, 0):
        if isinstance(value, str):
            found.update(ids_in_text(value))
            platform = ID_FIELDS.get(key.lower())
            if platform and BARE_YOUTUBE_RE.match(value.strip()):
                found.add(f"{platform}:{value.strip()}")
    if video_path:
        found.update(ids_in_file_name(video_path))
    return found


def _items(value: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key), item
            yield from _items(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield "", item
            yield from _items(item, depth + 1)


def ids_in_text(text: str) -> set[str]:
    """Platform ids named by URLs inside `text`.

    >>> sorted(ids_in_text("see https://youtu.be/dQw4w9WgXcQ?t=3 and vimeo.com/76979871"))
    ['vimeo:76979871', 'youtube:dQw4w9WgXcQ']
    """
    if "." not in text:
        return set()
    return {f"{platform}:{match}" for platform, pattern in URL_PATTERNS for match in pattern.findall(text)}


def ids_in_file_name(path: str) -> set[str]:
    """A YouTube id a video file name carries: the whole stem, or yt-dlp's `[id]` suffix.

    >>> sorted(ids_in_file_name("videos_0007/dQw4w9WgXcQ.mp4")), sorted(ids_in_file_name("a/clip_000001.mp4"))
    (['youtube:dQw4w9WgXcQ'], [])
    """
    stem = PurePosixPath(path.replace("\\", "/")).stem
    bracket = BRACKET_YOUTUBE_RE.search(stem)
    if bracket:
        return {f"youtube:{bracket.group(1)}"}
    return {f"youtube:{stem}"} if STEM_YOUTUBE_RE.match(stem) else set()
