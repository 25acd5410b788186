"""Hashes cached per video by content fingerprint, and the parallel hashing of whatever the cache lacks.

The cache is one SQLite file keyed by (content fingerprint, hash settings): a renamed or copied video is not
hashed again, a second run or a run against a new benchmark hashes only new videos, and a changed hash setting
starts afresh. Only the driver writes to it; workers (local processes or Ray tasks, through
`videokr.data.parallel.map_chunks`) return hashes and never touch the file, so the cache needs no shared disk.
"""

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from videokr.data.decontam.frames import HashSettings, VideoHashes, fingerprint_file, hash_video
from videokr.data.parallel import map_chunks
from videokr.errors import VideoKRError

log = logging.getLogger(__name__)

CACHE_FILE = "hashes.sqlite"
SCHEMA = "CREATE TABLE IF NOT EXISTS hashes (key TEXT PRIMARY KEY, rate REAL, hashes BLOB, informative BLOB)"


class HashCache:
    """A SQLite store of VideoHashes keyed by fingerprint + settings."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self.db = sqlite3.connect(self.path)
        self.db.execute(SCHEMA)

    def get(self, key: str) -> VideoHashes | None:
        """The cached hashes under `key`, or None."""
        row = self.db.execute("SELECT rate, hashes, informative FROM hashes WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        rate, hashes, informative = row
        return VideoHashes(rate, np.frombuffer(hashes, dtype="<u8").copy(), np.frombuffer(informative, dtype=bool))

    def put(self, key: str, value: VideoHashes) -> None:
        """Store `value` under `key` (committed at once: an interrupted run keeps what it hashed)."""
        self.db.execute(
            "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)",
            (key, value.rate, value.hashes.astype("<u8").tobytes(), value.informative.astype(bool).tobytes()),
        )
        self.db.commit()

    def close(self) -> None:
        """Close the database."""
        self.db.close()


@dataclass(frozen=True)
class HashStats:
    """What hashing did: videos from the cache, newly hashed, failed; seconds of newly hashed video, wall time."""

    cached: int
    hashed: int
    failed: int
    hashed_video_seconds: float
    wall_seconds: float


def _hash_chunk(items: list[tuple[str, HashSettings]]) -> list[VideoHashes | str]:
    """Worker side: hashes, or the error text, per video (module level, so pools and Ray can pickle it)."""
    results: list[VideoHashes | str] = []
    for path, settings in items:
        try:
            results.append(hash_video(path, settings))
        except (VideoKRError, OSError) as exc:
            results.append(str(exc))
    return results


def _fingerprint(path: str, settings: HashSettings) -> str | None:
    try:
        return f"{fingerprint_file(path)}:{settings.key}"
    except OSError:
        return None


def hash_videos(
    paths: Iterable[str],
    cache: HashCache,
    settings: HashSettings | None = None,
    *,
    workers: int = 1,
    ray_address: str | None = None,
    desc: str = "hash videos",
) -> tuple[dict[str, VideoHashes | str], HashStats]:
    """Hashes (or an error text) for every distinct path: from the cache, else hashed in parallel and cached."""
    settings = settings or HashSettings()
    started = time.perf_counter()
    results, todo = _look_up(paths, cache, settings, desc)
    cached = sum(isinstance(value, VideoHashes) for value in results.values())
    items = [(path, settings) for path, _ in todo]
    outputs = map_chunks(_hash_chunk, items, workers=workers, chunk_size=4, ray_address=ray_address)
    hashed, seconds = 0, 0.0
    for (path, key), value in tqdm(
        zip(todo, outputs, strict=True), total=len(todo), desc=desc, unit="video", disable=None
    ):
        results[path] = value
        if isinstance(value, VideoHashes):
            cache.put(key, value)
            hashed, seconds = hashed + 1, seconds + value.seconds
    failed = sum(isinstance(value, str) for value in results.values())
    stats = HashStats(cached, hashed, failed, seconds, time.perf_counter() - started)
    log.info("hashed %d videos, %d from the cache, %d failed", stats.hashed, stats.cached, stats.failed)
    return results, stats


def _look_up(
    paths: Iterable[str], cache: HashCache, settings: HashSettings, desc: str
) -> tuple[dict[str, VideoHashes | str], list[tuple[str, str]]]:
    """Cached hashes or error texts by path, and the (path, cache key) pairs still to hash."""
    results: dict[str, VideoHashes | str] = {}
    todo: list[tuple[str, str]] = []
    for path in tqdm(sorted(set(paths)), desc=f"{desc}: fingerprint", unit="video", disable=None):
        key = _fingerprint(path, settings) if os.path.isfile(path) else None
        found = cache.get(key) if key else None
        if found is not None:
            results[path] = found
        elif key is None:
            results[path] = f"{path}: video file not found or not readable"
        else:
            todo.append((path, key))
    return results, todo
