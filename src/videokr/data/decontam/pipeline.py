"""`decontaminate`: training rows checked against benchmark rows and videos; kept and contaminated rows written.

Three checks, in this order of precedence for the reported reason: shared source ids (ids.py), near-duplicate
videos (frames.py hashes, match.py sequence matching), overlapping questions (questions.py). The training file
is read twice, streaming: once to collect what each row is compared by, once to write every row, unchanged,
to kept.jsonl or (with a `contamination` object) to contaminated.jsonl.
"""

import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videokr.data.decontam.cache import HashCache, HashStats, hash_videos
from videokr.data.decontam.frames import HashSettings, VideoHashes
from videokr.data.decontam.ids import ids_in_file_name
from videokr.data.decontam.match import MatchSettings, SequenceIndex
from videokr.data.decontam.questions import QuestionIndex, QuestionSettings
from videokr.data.decontam.report import MAX_ISSUES, write_report, write_rows
from videokr.data.decontam.rows import Issue, RowView, list_videos, read_views
from videokr.data.read import require_file
from videokr.errors import DataError

log = logging.getLogger(__name__)

REASONS = ("source_id", "near_duplicate", "question_overlap")


@dataclass(frozen=True)
class Benchmark:
    """A benchmark file (VideoKR or VideoKR-Eval rows, or any rows with the aliases of PROTOCOL.md section 2)."""

    rows: Path
    video_root: Path | None = None


@dataclass(frozen=True)
class DecontaminateSettings:
    """Inputs and thresholds of one decontamination."""

    input: Path
    video_root: Path | None
    against: list[Benchmark]
    against_videos: list[Path]
    output_dir: Path
    workers: int = 1
    ray_address: str | None = None
    cache_dir: Path | None = None  # default: OUTPUT_DIR/cache; share one across runs to hash each video once
    hashing: HashSettings = field(default_factory=HashSettings)
    matching: MatchSettings = field(default_factory=MatchSettings)
    questions: QuestionSettings = field(default_factory=QuestionSettings)


@dataclass(frozen=True)
class DecontaminateResult:
    """Counts of the written rows and where the report is; `issues` counts rows or files that could not be read."""

    kept: int
    contaminated: int
    by_reason: dict[str, int]
    report_path: Path
    issues: int = 0


@dataclass
class _Benchmarks:
    """Everything the training rows are compared with."""

    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {benchmark, match}
    videos: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # abs path -> [{benchmark, match}]
    questions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    text_owners: list[dict[str, str]] = field(default_factory=list)
    rows: int = 0


def decontaminate(settings: DecontaminateSettings) -> DecontaminateResult:
    """Check every training row against the benchmarks; write kept.jsonl, contaminated.jsonl and the reports."""
    started = time.perf_counter()
    if not settings.against and not settings.against_videos:
        raise DataError("nothing to check against: give at least one benchmark file or video folder")
    source = require_file(settings.input)
    issues: list[Issue] = []
    bench = _read_benchmarks(settings, issues)
    questions = QuestionIndex(bench.questions, settings.questions)
    views = list(read_views(source, settings.video_root, issues, progress="decontaminate: read"))
    cache = HashCache(settings.cache_dir or settings.output_dir / "cache")
    try:
        videos, stats = _match_videos(settings, bench, views, cache, issues)
    finally:
        cache.close()
    verdicts = {view.line: _verdict(view, bench, questions, videos) for view in views}
    kept, contaminated = write_rows(source, settings.output_dir, verdicts)
    by_reason = count_reasons(verdicts)
    report = {
        "input": os.fspath(source),
        "counts": {"rows": len(views), "kept": kept, "contaminated": contaminated, "issues": len(issues)},
        "by_reason": by_reason,
        "by_benchmark": dict(Counter(found[0]["benchmark"] for found in verdicts.values() if found)),
        "against": _describe_benchmarks(settings, bench),
        "settings": {
            "hashing": {**vars(settings.hashing), "hash": "pHash (imagehash), 64 bits"},
            "matching": settings.matching.to_dict(),
            "questions": settings.questions.to_dict(),
        },
        "hashing": stats,
        "seconds": round(time.perf_counter() - started, 2),
        "issues": [issue.to_dict() for issue in issues[:MAX_ISSUES]],
    }
    examples = [
        {"line": view.line, "row_id": view.row_id, "contamination": verdicts[view.line][0]}
        for view in views
        if verdicts[view.line]
    ]
    path = write_report(settings.output_dir, report, examples)
    return DecontaminateResult(kept, contaminated, by_reason, path, len(issues))


def _describe_benchmarks(settings: DecontaminateSettings, bench: _Benchmarks) -> list[dict[str, Any]]:
    described: list[dict[str, Any]] = []
    for benchmark in settings.against:
        name = os.fspath(benchmark.rows)
        videos = {path for path, owners in bench.videos.items() if any(o["benchmark"] == name for o in owners)}
        rows = sum(o["benchmark"] == name for o in bench.text_owners)
        described.append({"benchmark": name, "rows_with_questions": rows, "videos": len(videos)})
    for directory in settings.against_videos:
        name = os.fspath(directory)
        videos = {path for path, owners in bench.videos.items() if any(o["benchmark"] == name for o in owners)}
        described.append({"benchmark": name, "videos": len(videos)})
    return described


def _read_benchmarks(settings: DecontaminateSettings, issues: list[Issue]) -> _Benchmarks:
    bench = _Benchmarks()
    for benchmark in settings.against:
        name = os.fspath(require_file(benchmark.rows))
        for view in read_views(benchmark.rows, benchmark.video_root, issues, progress=f"read {benchmark.rows.name}"):
            bench.rows += 1
            owner = {"benchmark": name, "match": view.row_id}
            for source_id in view.ids:
                bench.ids.setdefault(source_id, owner)
            if view.video:
                bench.videos.setdefault(view.video, []).append(owner)
            if view.question:
                bench.questions.append((view.question, view.options))
                bench.text_owners.append(owner)
    for directory in settings.against_videos:
        if not directory.is_dir():
            raise DataError(f"--against-videos {directory} is not a folder")
        for path in list_videos(directory):
            owner = {"benchmark": os.fspath(directory), "match": os.fspath(path)}
            bench.videos.setdefault(os.fspath(path.resolve()), []).append(owner)
            for source_id in ids_in_file_name(path.name):
                bench.ids.setdefault(source_id, owner)
    return bench


def _match_videos(
    settings: DecontaminateSettings,
    bench: _Benchmarks,
    views: list[RowView],
    cache: HashCache,
    issues: list[Issue],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """For each training video path: its best near-duplicate match, as the contamination fields."""
    train_paths = sorted({view.video for view in views if view.video and "://" not in view.video})

    def hash_all(paths: Iterable[str], desc: str) -> tuple[dict[str, VideoHashes | str], HashStats]:
        return hash_videos(
            paths, cache, settings.hashing, workers=settings.workers, ray_address=settings.ray_address, desc=desc
        )

    bench_hashes, bench_stats = hash_all(bench.videos, "hash benchmark videos")
    train_hashes, train_stats = hash_all(train_paths, "hash training videos")
    for path, value in bench_hashes.items():
        if isinstance(value, str):
            owner = bench.videos[path][0]
            issues.append(Issue(owner["benchmark"], 0, "video_path", f"benchmark video not checked: {value}"))
    for view in views:
        failure = train_hashes.get(view.video or "")
        if isinstance(failure, str):
            issues.append(Issue(os.fspath(settings.input), view.line, "video_path", f"video not checked: {failure}"))
    targets = [(path, value) for path, value in bench_hashes.items() if isinstance(value, VideoHashes)]
    queries = [(path, value) for path, value in train_hashes.items() if isinstance(value, VideoHashes)]
    index = SequenceIndex([value for _, value in targets], settings.matching)
    found: dict[str, dict[str, Any]] = {}
    for match in index.match([value for _, value in queries]):
        path, target = queries[match.query][0], targets[match.target][0]
        previous = found.get(path)
        if previous is not None and previous["seconds"] >= match.seconds:
            continue
        found[path] = {
            **bench.videos[target][0],
            "video": target,
            "seconds": round(match.seconds, 2),
            "train_start": round(match.query_start, 2),
            "benchmark_start": round(match.target_start, 2),
            "mean_distance": round(match.mean_distance, 2),
        }
    return found, {"benchmark": _stats(bench_stats), "train": _stats(train_stats)}


def _stats(stats: HashStats) -> dict[str, Any]:
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in vars(stats).items()}


def _verdict(
    view: RowView, bench: _Benchmarks, questions: QuestionIndex, videos: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every contamination found for one row, in REASONS order (empty: the row is kept)."""
    found: list[dict[str, Any]] = []
    shared = sorted(view.ids & bench.ids.keys())
    if shared:
        found.append({"reason": "source_id", **bench.ids[shared[0]], "source_id": shared[0]})
    if view.video in videos:
        found.append({"reason": "near_duplicate", **videos[view.video]})
    best = questions.best(view.question, view.options) if view.question else None
    if best is not None:
        key, score = best
        found.append(
            {
                "reason": "question_overlap",
                **bench.text_owners[key],
                "score": round(score, 3),
                "threshold": questions.settings.threshold,
            }
        )
    return found


def count_reasons(verdicts: dict[int, list[dict[str, Any]]]) -> dict[str, int]:
    """Contaminated rows per primary reason."""
    counts = Counter(found[0]["reason"] for found in verdicts.values() if found)
    return {reason: counts[reason] for reason in REASONS if counts[reason]}
