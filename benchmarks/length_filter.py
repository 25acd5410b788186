"""Length-filter time as a user waits: `videokr data prepare-rl --model M --max-prompt-length N` against verl's
`RLHFDataset(filter_overlong_prompts=True)` constructor, each a whole subprocess (imports and loading included).

Run: .venv/bin/python benchmarks/length_filter.py [--videos 200] [--family qwen2_5_vl] [--work-dir DIR]
(FORCE_QWENVL_VIDEO_READER=decord is set for you). Generates clips of 2-120 s at real-ish sizes (320x180 to
1280x720, 24-30 fps; cached in --work-dir), writes a VideoKR corpus over them, takes the median prompt length
as max_prompt_length, times both commands on the same rows, prints the speed ratio and exits 1 unless the
keep/drop decisions are identical row for row. On 2 cores, quiet, 200 Qwen2.5-VL clips: 1.77 s (videokr)
against 384 s (verl), 216x; 10 clips 0.8-0.9 s against 43-46 s. 200 clips take ~15 min to generate once (cached),
then ~7 min a run, nearly all of it verl decoding (PROTOCOL.md section 8, "verl length filter cost").
"""

import argparse
import json
import os
import random
import statistics
import subprocess
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

SIZES = ((320, 180), (480, 270), (640, 360), (854, 480), (1280, 720))
RATES = (24.0, 25.0, 29.97, 30.0)
WORDS = ("flame", "colour", "element", "reaction", "sodium")


def make_clips(root: Path, count: int, seed: int) -> list[Path]:
    """`count` clips, 2-120 s, sizes and rates drawn from SIZES / RATES (reused when already there)."""
    from videokr.data.synth import solid_painter, write_video

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


def write_corpus(paths: list[Path], out: Path, seed: int) -> Path:
    """A VideoKR corpus file over `paths` (relative to their folder), questions of 5-80 words."""
    rng = random.Random(seed)
    rows = []
    for index, path in enumerate(paths):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 80)))
        raw = {
            "problem_id": f"p{index}",
            "question": f"What does the clip show about the {words}?",
            "options": ["A. sodium", "B. copper", "C. lithium", "D. potassium"],
            "solution": "<answer>A</answer>",
            "problem_type": "multiple choice",
            "video_path": path.name,
        }
        rows.append(json.dumps(raw) + "\n")
    out.write_text("".join(rows), encoding="utf-8")
    return out


def read_rows(out_dir: Path) -> list[dict[str, Any]]:
    """The rows of a prepare-rl output (train then test)."""
    import pyarrow.parquet as pq

    return [row for name in ("train", "test") for row in pq.read_table(out_dir / f"{name}.parquet").to_pylist()]


def unfiltered_parquet(corpus: Path, video_root: Path, work: Path) -> Path:
    """Every row prepare-rl writes without a length filter, in one parquet file for verl."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from videokr.data.rl import prepare_rl

    prepare_rl(corpus, work / "unfiltered", video_root, val_size=1, seed=0)
    path = work / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(read_rows(work / "unfiltered")), path)
    return path


def median_length(model: Path, parquet: Path) -> tuple[int, int, int]:
    """(min, median, max) prompt length of the rows: max_prompt_length = median splits them about in half."""
    import pyarrow.parquet as pq

    from videokr.data.budget import PromptBudget
    from videokr.data.videos import probe_video

    budget = PromptBudget.from_model(model)
    lengths = []
    for row in pq.read_table(parquet).to_pylist():
        entry = dict(row["videos"][0])
        lengths.append(budget.count(row["prompt"], probe_video(entry.pop("video")), entry))
    return min(lengths), int(statistics.median(lengths)), max(lengths)


def run_timed(argv: list[str]) -> float:
    """Seconds the command took, start to exit; fails loudly when it does."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} ... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def time_videokr(model: Path, corpus: Path, video_root: Path, out: Path, max_len: int) -> tuple[set[str], float]:
    """Problem ids `videokr data prepare-rl --model ... --max-prompt-length` keeps, and its wall time."""
    argv = [sys.executable, "-m", "videokr", "data", "prepare-rl", "--input", str(corpus), "--output-dir", str(out)]
    argv += ["--video-root", str(video_root), "--val-size", "1", "--seed", "0"]
    seconds = run_timed([*argv, "--model", str(model), "--max-prompt-length", str(max_len)])
    return {str(row["extra_info"]["problem_id"]) for row in read_rows(out)}, seconds


def time_verl(model: Path, parquet: Path, max_len: int, work: Path) -> tuple[set[str], float]:
    """Problem ids verl's RLHFDataset(filter_overlong_prompts=True) keeps, and the wall time of its subprocess."""
    kept = work / "verl_kept.json"
    argv = [sys.executable, __file__, "verl-filter", str(model), str(parquet), str(max_len), str(work / "verl_cache")]
    seconds = run_timed([*argv, str(kept)])
    return set(json.loads(kept.read_text())), seconds


def verl_filter(argv: list[str]) -> int:
    """Subprocess body: construct verl's RLHFDataset with the length filter on, write the kept problem ids."""
    model, parquet, max_len, cache, out = argv
    from omegaconf import OmegaConf
    from transformers import AutoProcessor, AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tokenizer = AutoTokenizer.from_pretrained(model)
    processor = AutoProcessor.from_pretrained(model)
    config = {
        "max_prompt_length": int(max_len),
        "filter_overlong_prompts": True,
        "filter_overlong_prompts_workers": 1,
        "cache_dir": cache,
        "truncation": "error",
    }
    dataset = RLHFDataset(parquet, tokenizer, OmegaConf.create(config), processor)
    kept = sorted(str(extra["problem_id"]) for extra in dataset.dataframe["extra_info"])
    Path(out).write_text(json.dumps(kept))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when decisions differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--family", choices=["qwen2_5_vl", "qwen3_vl"], default="qwen2_5_vl")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "videokr-bench-length")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from videokr.tiny import build_tiny_model

    started = time.perf_counter()
    clips_dir = args.work_dir / "clips"
    paths = make_clips(clips_dir, args.videos, args.seed)
    print(f"{len(paths)} clips ready in {time.perf_counter() - started:.1f} s ({clips_dir})")
    model = args.work_dir / f"tiny_{args.family}"
    if not (model / "config.json").exists():
        build_tiny_model(model, args.family, overwrite=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.work_dir))
    corpus = write_corpus(paths, run_dir / "corpus.jsonl", args.seed)
    parquet = unfiltered_parquet(corpus, clips_dir, run_dir)
    shortest, max_len, longest = median_length(model, parquet)
    print(f"{len(paths)} rows, prompt lengths {shortest}-{longest}; max_prompt_length {max_len} (the median)")

    ours, ours_s = time_videokr(model, corpus, clips_dir, run_dir / "filtered", max_len)
    print(f"videokr data prepare-rl --model --max-prompt-length: {ours_s:.2f} s, keeps {len(ours)}")
    theirs, verl_s = time_verl(model, parquet, max_len, run_dir)
    print(f"verl RLHFDataset(filter_overlong_prompts=True): {verl_s:.2f} s, keeps {len(theirs)}")
    print(f"speed ratio: {verl_s / ours_s:.1f}x (whole commands, imports included)")
    differ = sorted(ours ^ theirs)
    if differ:
        print(f"DECISIONS DIFFER on {len(differ)} rows: {differ[:20]}", file=sys.stderr)
        return 1
    print("keep/drop decisions identical row for row")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["verl-filter"]:
        sys.exit(verl_filter(sys.argv[2:]))
    sys.exit(main())
