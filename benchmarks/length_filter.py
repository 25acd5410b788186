"""Metadata length filter (probe + PromptBudget) vs verl's RLHFDataset(filter_overlong_prompts=True), one run.

Run: .venv/bin/python benchmarks/length_filter.py [--videos 200] [--family qwen2_5_vl] [--work-dir DIR]
(with FORCE_QWENVL_VIDEO_READER=decord). Generates clips of 2-120 s at mixed sizes and frame rates (cached in
--work-dir), builds VideoKR RL rows with the published video settings (PROTOCOL.md section 4), times both
filters on the same rows, prints the speed ratio (target >= 50x) and asserts identical keep/drop decisions.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from videokr.data.synth import solid_painter, write_video

SIZES = ((64, 64), (96, 64), (112, 84), (128, 96), (160, 90), (90, 160), (176, 144), (200, 112))
RATES = (4.0, 8.0, 12.0, 24.0, 29.97)
VIDEO_CFG = {"fps": 2.0, "max_frames": 128, "min_frames": 4, "max_pixels": 100352, "min_pixels": 100352}


def make_clips(root: Path, count: int, seed: int) -> list[Path]:
    """`count` clips, 2-120 s, sizes and rates drawn from SIZES / RATES (reused when already there)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        width, height = rng.choice(SIZES)
        fps = rng.choice(RATES)
        seconds = round(rng.uniform(2.0, 120.0), 1)
        path = root / f"clip{index:03d}_{width}x{height}_{fps}fps_{seconds}s.mp4"
        if not path.exists():
            painter = solid_painter(width, height, seed=index)
            write_video(path, width=width, height=height, fps=fps, seconds=seconds, gop=int(fps * 4), painter=painter)
        paths.append(path)
    return paths


def make_rows(paths: list[Path], seed: int) -> list[dict[str, Any]]:
    """VideoKR RL rows (the prepare-rl row shape) with questions of varied length."""
    from videokr.data.rl import rl_row
    from videokr.records import Sample

    rng = random.Random(seed)
    rows = []
    for index, path in enumerate(paths):
        words = " ".join(
            rng.choice(["flame", "colour", "element", "reaction", "sodium"]) for _ in range(rng.randint(5, 80))
        )
        raw = {
            "problem_id": f"p{index}",
            "question": f"What does the clip show about the {words}?",
            "options": ["A. sodium", "B. copper", "C. lithium", "D. potassium"],
            "solution": "A",
            "problem_type": "multiple choice",
            "video_path": path.name,
        }
        row = rl_row(Sample.from_raw(raw), str(path), video_cfg=VIDEO_CFG)
        row["extra_info"]["index"] = index
        rows.append(row)
    return rows


def metadata_counts(model: Path, rows: list[dict[str, Any]]) -> tuple[list[int], float]:
    """Prompt lengths from probe + PromptBudget, and the seconds it took (model loading included)."""
    from videokr.data.budget import PromptBudget
    from videokr.data.videos import probe_video

    started = time.perf_counter()
    budget = PromptBudget.from_model(model)
    lengths = []
    for row in rows:
        entry = dict(row["videos"][0])
        info = probe_video(entry.pop("video"))
        lengths.append(budget.count(row["prompt"], info, entry))
    return lengths, time.perf_counter() - started


def verl_kept(model: Path, parquet: Path, max_prompt_length: int, cache: Path) -> tuple[set[int], float]:
    """Indices verl's RLHFDataset keeps with filter_overlong_prompts=True, and the seconds it took."""
    from omegaconf import OmegaConf
    from transformers import AutoProcessor, AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model)
    processor = AutoProcessor.from_pretrained(model)
    config = OmegaConf.create(
        {
            "max_prompt_length": max_prompt_length,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": str(cache),
            "truncation": "error",
        }
    )
    dataset = RLHFDataset(str(parquet), tokenizer, config, processor)
    kept = {int(extra["index"]) for extra in dataset.dataframe["extra_info"]}
    return kept, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when decisions differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--family", choices=["qwen2_5_vl", "qwen3_vl"], default="qwen2_5_vl")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "videokr-bench-length")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import pyarrow as pa
    import pyarrow.parquet as pq

    from videokr.tiny import build_tiny_model

    started = time.perf_counter()
    paths = make_clips(args.work_dir / "clips", args.videos, args.seed)
    print(f"{len(paths)} clips ready in {time.perf_counter() - started:.1f} s ({args.work_dir / 'clips'})")
    model = args.work_dir / f"tiny_{args.family}"
    if not (model / "config.json").exists():
        build_tiny_model(model, args.family, overwrite=True)
    rows = make_rows(paths, args.seed)
    parquet = args.work_dir / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)

    lengths, ours_s = metadata_counts(model, rows)
    max_len = int(statistics.median(lengths))
    ours_kept = {i for i, n in enumerate(lengths) if n <= max_len}
    print(f"metadata filter: {ours_s:.2f} s for {len(rows)} rows; prompt lengths {min(lengths)}-{max(lengths)}")
    print(f"max_prompt_length {max_len}: keep {len(ours_kept)}, drop {len(rows) - len(ours_kept)}")

    verl_set, verl_s = verl_kept(model, parquet, max_len, args.work_dir / "verl_cache")
    print(f"verl RLHFDataset(filter_overlong_prompts=True): {verl_s:.2f} s, keeps {len(verl_set)}")
    ratio = verl_s / ours_s
    print(f"speed ratio: {ratio:.1f}x (target >= 50x)")
    differ = sorted(ours_kept ^ verl_set)
    if differ:
        print(f"DECISIONS DIFFER on {len(differ)} rows: {differ[:20]}", file=sys.stderr)
        return 1
    print("keep/drop decisions identical row for row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
