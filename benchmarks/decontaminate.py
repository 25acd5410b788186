"""Decontamination at corpus scale: frame hashing throughput and sequence matching of 100,000 training clips
against 10,000 benchmark clips, with precision and recall on planted duplicates.

Run: .venv/bin/python benchmarks/decontaminate.py [--train 100000] [--bench 10000] [--work-dir DIR] [--skip-hash|--skip-match]
Hashing: generates clips at real-ish sizes (480x270 to 854x480, 25-30 fps, a keyframe every 5 s, x264 veryfast
with B-frames; cached in --work-dir, ~1-2 min once) and times `hash_video` on each in CPU seconds of this process
(one decoder thread), against decoding every frame and hashing the sampled ones at full size (what a plain
PyAV + imagehash loop does). Target: at least 50 video-seconds per core-second.
Matching: generated pHash sequences (a new picture every 3 s at 2 samples/s, one bit of drift per sample), 10-60 s
per clip; `--planted` training clips contain an 8-20 s stretch of a benchmark clip at a random offset with 4-14 bits
of noise per sample, and as many hard negatives share only a static card (8 s) with a benchmark clip. Prints
the index build and match times, precision and recall. Exits 1 when the hashing target or recall 0.95 is missed,
or a negative is matched.
"""

import argparse
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videokr.data.decontam.frames import HashSettings, VideoHashes, hash_video
from videokr.data.decontam.match import SequenceIndex

RATE = 2.0
CLIPS = ((480, 270, 25.0, 60.0), (640, 360, 30.0, 60.0), (854, 480, 29.97, 45.0), (640, 360, 25.0, 90.0))


def painter(seed: int, width: int, height: int) -> Callable[[float], np.ndarray]:
    """Moving blocks over a drifting smooth field, a new field every 4 s (content that encodes like video)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    def paint(t: float) -> np.ndarray:
        rng = np.random.default_rng([seed, int(t // 4)])
        fx, fy, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6) + 0.5 * t
        base = 120 + 80 * np.sin(xx / width * fx * 6 + phase) * np.cos(yy / height * fy * 6 + phase)
        frame = np.repeat(base[..., None], 3, axis=2)
        for _ in range(4):
            x, y, vx, vy = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-60, 60), rng.uniform(-40, 40)
            r = int(rng.integers(width // 12, width // 5))
            cx, cy = int((x + vx * t) % width), int((y + vy * t) % height)
            frame[max(0, cy - r) : cy + r, max(0, cx - r) : cx + r] = rng.uniform(0, 255, 3)
        return frame.astype(np.uint8)

    return paint


def make_clips(root: Path) -> list[tuple[Path, float]]:
    """The hashing clips (reused when present): (path, seconds)."""
    root.mkdir(parents=True, exist_ok=True)
    clips = []
    for index, (width, height, fps, seconds) in enumerate(CLIPS):
        path = root / f"clip{index}_{width}x{height}_{fps}fps_{seconds:g}s.mp4"
        if not path.exists():
            paint = painter(index, width, height)
            rate = Fraction(fps).limit_denominator(1001)
            with av.open(str(path), "w") as container:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                stream.options = {"preset": "veryfast", "g": str(round(fps * 5)), "crf": "23"}
                for frame_index in range(round(seconds * fps)):
                    frame = av.VideoFrame.from_ndarray(paint(frame_index / fps), format="rgb24")
                    for packet in stream.encode(frame):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
        clips.append((path, seconds))
    return clips


def naive_hash(path: Path, rate: float = RATE) -> int:
    """Every frame decoded (default threading), the sampled ones hashed at full size: the plain loop."""
    import imagehash
    from PIL import Image

    count, step = 0, 1.0 / rate
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= count * step:
                imagehash.phash(Image.fromarray(frame.to_ndarray(format="rgb24")))
                count += 1
    return count


def bench_hashing(work_dir: Path) -> float:
    """Video-seconds per core-second of hash_video, and the naive loop's, printed; returns ours."""
    clips = make_clips(work_dir / "clips")
    hash_video(clips[0][0])  # imports and first-call setup are not throughput
    total = sum(seconds for _, seconds in clips)
    start = time.process_time()
    for path, _ in clips:
        hash_video(path, HashSettings(rate=RATE))
    ours = total / (time.process_time() - start)
    start = time.process_time()
    for path, _ in clips:
        naive_hash(path)
    naive = total / (time.process_time() - start)
    print(
        f"hashing {len(clips)} clips, {total:.0f} video-seconds (480x270 to 854x480, 25-30 fps), at {RATE:g} samples/s"
    )
    print(f"  videokr hash_video: {ours:.0f} video-seconds per core-second (target >= 50)")
    print(f"  decode all + full-size pHash: {naive:.0f} video-seconds per core-second; ratio {ours / naive:.1f}x")
    return ours


def _sequences(rng: np.random.Generator, lengths: np.ndarray, scene: int = 6) -> list[np.ndarray]:
    """Random pHash-like sequences: a new 64-bit picture every `scene` samples, one bit of drift per sample."""
    total = int(lengths.sum())
    scenes = rng.integers(0, 2**64 - 1, size=total // scene + len(lengths) + 1, dtype=np.uint64)
    out, base, scene_id = [], 0, 0
    for length in lengths:
        ids = scene_id + np.arange(length) // scene
        scene_id = int(ids[-1]) + 1
        drift = np.left_shift(np.uint64(1), rng.integers(0, 64, size=length).astype(np.uint64))
        out.append(scenes[ids] ^ drift)
        base += length
    return out


def _noise(rng: np.random.Generator, values: np.ndarray, low: int, high: int) -> np.ndarray:
    out = values.copy()
    for i in range(len(out)):
        bits = rng.choice(64, int(rng.integers(low, high + 1)), replace=False).astype(np.uint64)
        out[i] ^= np.bitwise_or.reduce(np.left_shift(np.uint64(1), bits))
    return out


def bench_matching(n_train: int, n_bench: int, planted: int, seed: int) -> tuple[float, float, int]:
    """Build the index over n_bench clips, match n_train clips; returns (precision, recall, false positives)."""
    rng = np.random.default_rng(seed)
    bench = _sequences(rng, rng.integers(20, 121, n_bench))
    train = _sequences(rng, rng.integers(20, 121, n_train))
    truth: dict[int, int] = {}
    for query in rng.choice(n_train, planted, replace=False):
        target = int(rng.integers(n_bench))
        source = bench[target]
        length = int(rng.integers(16, 41))
        if len(source) < length:
            source = bench[target] = np.concatenate([source, _sequences(rng, np.array([length]))[0]])
        start = int(rng.integers(0, len(source) - length + 1))
        stretch = _noise(rng, source[start : start + length], 4, 14)
        where = int(rng.integers(0, len(train[query]) + 1))
        train[query] = np.concatenate([train[query][:where], stretch, train[query][where:]])
        truth[int(query)] = target
    negatives = [q for q in rng.permutation(n_train) if int(q) not in truth][:planted]
    card_value = rng.integers(0, 2**64 - 1, dtype=np.uint64)
    for query in negatives:
        target = int(rng.integers(n_bench))
        card = np.full(16, card_value ^ np.uint64(rng.integers(0, 2**16)), np.uint64)  # 8 s of one still
        bench[target] = np.concatenate([card, bench[target]])
        train[query] = np.concatenate([card, train[query]])

    def wrap(values: np.ndarray) -> VideoHashes:
        return VideoHashes(RATE, values, np.ones(len(values), bool))

    samples = sum(len(t) for t in train), sum(len(b) for b in bench)
    clock = time.perf_counter()
    index = SequenceIndex([wrap(b) for b in bench])
    built = time.perf_counter() - clock
    clock = time.perf_counter()
    found = {(m.query, m.target) for m in index.match([wrap(t) for t in train])}
    matched = time.perf_counter() - clock
    true_pairs = {(q, t) for q, t in truth.items()}
    hits = len(found & true_pairs)
    false = len(found - true_pairs)
    negative_hits = sum(1 for q, _ in found if q in set(int(n) for n in negatives))
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true_pairs)
    print(f"matching {n_train} training clips ({samples[0]} samples) against {n_bench} benchmark clips ({samples[1]})")
    print(f"  index build {built:.1f} s, match {matched:.1f} s wall ({matched / 60:.1f} min)")
    print(
        f"  planted {len(true_pairs)}: precision {precision:.4f}, recall {recall:.4f}; {false} false pairs, "
        f"{negative_hits} on the {len(negatives)} static-card negatives"
    )
    return precision, recall, negative_hits


def main(argv: list[str] | None = None) -> int:
    """Run both parts and check the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--bench", type=int, default=10_000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/videokr-bench-decontaminate"))
    parser.add_argument("--skip-hash", action="store_true", help="only the matching part")
    parser.add_argument("--skip-match", action="store_true", help="only the hashing part")
    args = parser.parse_args(argv)
    ok = True
    if not args.skip_hash:
        ok &= bench_hashing(args.work_dir) >= 50
    if not args.skip_match:
        _, recall, negative_hits = bench_matching(args.train, args.bench, args.planted, args.seed)
        ok &= recall >= 0.95 and negative_hits == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
