"""Sequence matching of pHash sequences through a Hamming index: which query clip shares a stretch with which
indexed clip, at what time offset, for how long.

Seeds come from a faiss `IndexBinaryMultiHash` over the indexed clips' informative samples (the 64 bits split
into `nhash` bands; a sample is a candidate when one band is within `nflip` bits of the query's), so no pair of
clips is compared unless they share frames. Each seed votes for (query clip, indexed clip, offset in samples);
a triple with `min_votes` votes is verified along its diagonal: samples within `max_distance` bits count as
matched, runs may skip `max_gap` mismatched samples, and a run counts only when it spans `min_seconds` and shows
`min_changes` changes of picture (a step of more than `change_distance` bits from the last distinct picture),
so a shared static title card or black stretch never makes a match on its own.
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from videokr.data.decontam.frames import VideoHashes
from videokr.deps import require


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds of the sequence match (reported in report.json)."""

    max_distance: int = (
        18  # of 64 bits: re-encodes, resizes, letterboxes stay under 10, a 5% crop under 20; unrelated ~32
    )
    min_seconds: float = 5.0
    min_changes: int = 2
    change_distance: int = 12
    max_gap: int = 2  # mismatched samples a run may skip
    min_fraction: float = 0.6  # matched share of the usable samples in a run
    min_votes: int = 3
    nhash: int = 4
    nflip: int = 0  # bits a band may differ by; 1 finds more seeds per sample but probes 17x the buckets (~10x slower)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True)
class VideoMatch:
    """A shared stretch: `query` and `target` index the query and indexed lists; times in seconds."""

    query: int
    target: int
    query_start: float
    target_start: float
    seconds: float
    samples: int
    mean_distance: float


def _as_bytes(hashes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hashes.astype(">u8")).view(np.uint8).reshape(-1, 8)


class SequenceIndex:
    """The indexed (benchmark) clips' informative samples in a faiss binary multi-hash index."""

    def __init__(self, videos: Sequence[VideoHashes], settings: MatchSettings = MatchSettings()) -> None:
        logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # not its search for CPU-specific builds
        faiss = require("faiss")

        self.videos, self.settings = list(videos), settings
        owners = [np.full(int(v.informative.sum()), i, dtype=np.int64) for i, v in enumerate(self.videos)]
        positions = [np.flatnonzero(v.informative) for v in self.videos]
        self.owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
        self.position = np.concatenate(positions).astype(np.int64) if positions else np.empty(0, np.int64)
        rates = {v.rate for v in self.videos}
        if len(rates) > 1:
            raise ValueError(f"indexed clips were hashed at different rates: {sorted(rates)}")
        self.rate = rates.pop() if rates else 2.0
        self.longest = max((len(v.hashes) for v in self.videos), default=0)
        self.index = faiss.IndexBinaryMultiHash(64, settings.nhash, 64 // settings.nhash)
        self.index.nflip = settings.nflip
        if len(self.owner):
            hashes = np.concatenate([v.hashes[v.informative] for v in self.videos])
            self.index.add(_as_bytes(hashes))

    def match(self, queries: Sequence[VideoHashes], batch_samples: int = 200_000) -> Iterator[VideoMatch]:
        """The best verified match of every (query, indexed clip) pair that has one."""
        bar = tqdm(total=len(queries), desc="match videos", unit="clip", disable=None)
        start = 0
        while start < len(queries):
            stop, samples = start, 0
            while stop < len(queries) and (samples == 0 or samples + len(queries[stop].hashes) <= batch_samples):
                samples += len(queries[stop].hashes)
                stop += 1
            yield from self._match_batch(queries, start, stop)
            bar.update(stop - start)
            start = stop
        bar.close()

    def _match_batch(self, queries: Sequence[VideoHashes], start: int, stop: int) -> Iterator[VideoMatch]:
        candidates = self._candidates(queries, start, stop)
        best: dict[tuple[int, int], VideoMatch] = {}
        for query, target, offset in candidates:
            run = verify(queries[query], self.videos[target], offset, self.settings)
            if run is None:
                continue
            found = VideoMatch(query, target, *run)
            previous = best.get((query, target))
            if previous is None or found.samples > previous.samples:
                best[(query, target)] = found
        yield from sorted(best.values(), key=lambda m: (m.query, m.target))

    def _candidates(self, queries: Sequence[VideoHashes], start: int, stop: int) -> list[tuple[int, int, int]]:
        """(query, target, offset) triples with at least `min_votes` seeds."""
        if not len(self.owner):
            return []
        batch = [queries[i] for i in range(start, stop)]
        q_owner = np.concatenate([np.full(int(v.informative.sum()), start + i, np.int64) for i, v in enumerate(batch)])
        if not len(q_owner):
            return []
        q_pos = np.concatenate([np.flatnonzero(v.informative) for v in batch]).astype(np.int64)
        hashes = np.concatenate([v.hashes[v.informative] for v in batch])
        lims, dist, ids = self.index.range_search(_as_bytes(hashes), self.settings.max_distance + 1)
        rows = np.repeat(np.arange(len(hashes)), np.diff(lims).astype(np.int64))
        keep = dist <= self.settings.max_distance
        rows, ids = rows[keep], ids[keep]
        if not len(ids):
            return []
        # One int64 key per (query, target, offset), so that votes are counted over one sorted array.
        reach = max(self.longest, max(len(v.hashes) for v in batch))  # |offset| < the longer clip's length
        width = 2 * reach + 1
        pair = q_owner[rows] * len(self.videos) + self.owner[ids]
        keys = pair * width + (self.position[ids] - q_pos[rows] + reach)
        return self._worth_verifying(keys, q_pos[rows], hashes[rows], width, reach)

    def _worth_verifying(
        self, keys: np.ndarray, seed_pos: np.ndarray, seed_hash: np.ndarray, width: int, reach: int
    ) -> list[tuple[int, int, int]]:
        """Triples whose seeds are many, spread along the query and not all one picture.

        Seeds bunched inside one shot (any two similar shots give a few) cannot make a run of min_seconds, and
        seeds that all show one picture (a channel's intro card shared by thousands of clips) cannot show the
        picture changes a run needs: both are dropped here, vectorised, before the per-triple verification.
        """
        order = np.argsort(keys, kind="stable")
        keys, seed_pos, seed_hash = keys[order], seed_pos[order], seed_hash[order]
        starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        votes = np.diff(np.append(starts, len(keys)))
        spread = np.maximum.reduceat(seed_pos, starts) - np.minimum.reduceat(seed_pos, starts)
        moved = np.bitwise_count(seed_hash ^ np.repeat(seed_hash[starts], votes)) > self.settings.change_distance
        changed = np.maximum.reduceat(moved, starts) if self.settings.min_changes > 0 else np.ones(len(starts), bool)
        wanted = (votes >= self.settings.min_votes) & (spread >= self.settings.min_seconds * self.rate * 0.6) & changed
        chosen = keys[starts[wanted]]
        pairs, offsets = np.divmod(chosen, width)
        query, target = np.divmod(pairs, len(self.videos))
        return list(zip(query.tolist(), target.tolist(), (offsets - reach).tolist(), strict=True))


def verify(
    query: VideoHashes, target: VideoHashes, offset: int, settings: MatchSettings
) -> tuple[float, float, float, int, float] | None:
    """(query start, target start, seconds, matched samples, mean distance) of the best run on one diagonal.

    `offset` is target sample minus query sample; None when no run passes the thresholds.
    """
    lo, hi = max(0, -offset), min(len(query.hashes), len(target.hashes) - offset)
    rate = query.rate
    if (hi - lo) / rate < settings.min_seconds:
        return None
    qa, tb = query.hashes[lo:hi], target.hashes[lo + offset : hi + offset]
    dist = np.bitwise_count(qa ^ tb)
    usable = query.informative[lo:hi] & target.informative[lo + offset : hi + offset]
    matched = usable & (dist <= settings.max_distance)
    best: tuple[float, float, float, int, float] | None = None
    for first, last in _runs(matched, usable & ~matched, settings.max_gap):
        span = (last - first + 1) / rate
        hits = np.flatnonzero(matched[first : last + 1]) + first
        if span < settings.min_seconds or len(hits) < settings.min_fraction * usable[first : last + 1].sum():
            continue
        if _changes(qa[hits], settings.change_distance) < settings.min_changes:
            continue
        if best is None or len(hits) > best[3]:
            start = lo + first
            best = (start / rate, (start + offset) / rate, span, len(hits), float(dist[hits].mean()))
    return best


def _runs(matched: np.ndarray, bad: np.ndarray, max_gap: int) -> Iterator[tuple[int, int]]:
    """(first, last) positions of runs of matched samples broken by more than `max_gap` bad samples."""
    hits = np.flatnonzero(matched)
    if not len(hits):
        return
    bad_before = np.concatenate([[0], np.cumsum(bad)])
    between = bad_before[hits[1:]] - bad_before[hits[:-1] + 1]
    breaks = np.flatnonzero(between > max_gap)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(hits) - 1]])
    for s, e in zip(starts, ends, strict=True):
        yield int(hits[s]), int(hits[e])


def _changes(hashes: np.ndarray, change_distance: int) -> int:
    """How often the picture moves more than `change_distance` bits away from the last distinct one."""
    changes, anchor = 0, hashes[0]
    for value in hashes[1:]:
        if int(np.bitwise_count(value ^ anchor)) > change_distance:
            changes, anchor = changes + 1, value
    return changes
