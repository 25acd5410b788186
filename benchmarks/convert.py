"""prepare-sft / prepare-rl against the published converters' way, as a user waits for them: wall time and peak RSS.

Run: .venv/bin/python benchmarks/convert.py [--rows 200000] [--repeat 3]

Every conversion is a whole command in a fresh interpreter, imports included, timed from the outside:
`python -m videokr data prepare-sft ...`, `python -m videokr data prepare-rl ... --no-length-filter` (videos are
not probed, as the published converter never opens them), and this script's `--published sft|rl` for the
published way. Peak RSS and CPU time are the child's own (os.wait4). The published way is re-implemented here:
SFT builds every entry in a list then json.dump(indent=2); RL holds every row in memory, splits, then writes
each split with datasets (as the published script does), or pandas + pyarrow when datasets is missing.
200K rows took about a minute on the shared 2-core development machine (14 s of it generating the rows);
`--repeat 3` (the fastest of three runs per command) about two and a half.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTR = (
    "\nPlease answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, and then give your final answer "
    "between the <answer> and </answer> tags.\n"
)
MC = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."
OE = "Please provide only your final answer within the <answer>...</answer> tags."


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write `rows` COT-style corpus rows (about half multiple choice) to `path` as JSON lines."""
    rng = random.Random(seed)
    words = [
        "flame",
        "colour",
        "sodium",
        "copper",
        "lithium",
        "lecture",
        "knowledge",
        "point",
        "reaction",
        "energy",
        "cell",
        "tissue",
    ]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(12, 40)))
            row: dict[str, Any] = {
                "problem_id": f"p{i}",
                "question": f"Question {i}: {text}?",
                "think": "<think>" + " ".join(rng.choice(words) for _ in range(rng.randint(60, 200))) + "</think>",
                "video_path": f"videos_{i % 97:04d}/{i:08x}.mp4",
                "subject": rng.choice(["Chemistry", "Physics", "Biology"]),
            }
            if i % 2:
                row |= {"problem_type": "multiple choice", "options": [f"{k}. {rng.choice(words)}" for k in "ABCD"]}
                row["solution"] = f"<answer>{rng.choice('ABCD')}</answer>"
            else:
                row |= {"problem_type": "open-ended", "solution": f"<answer>{rng.choice(words)}</answer>"}
            handle.write(json.dumps(row) + "\n")


def published_sft(src: Path, out: Path) -> None:
    """The published SFT way: every entry in one list, then json.dump with indent=2."""
    converted = []
    with src.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            ex = json.loads(line)
            question = str(ex.get("question", "")).strip()
            options = [str(o).strip() for o in ex.get("options") or [] if str(o).strip()]
            text = question + ("\n\nOptions:\n" + "\n".join(options) if options else "")
            mc = str(ex.get("problem_type", "")).strip().lower() in {"multiple choice", "mcq"} or bool(options)
            text += INSTR + (MC if mc else OE + "\n")
            think = str(ex.get("think", "")).strip().removeprefix("<think>").rsplit("</think>", 1)[0].strip()
            answer = str(ex.get("solution", "")).strip().removeprefix("<answer>").rsplit("</answer>", 1)[0].strip()
            path = str(ex.get("video_path") or "").lstrip("./")
            if not (think and answer and path):
                continue
            messages = [
                {"role": "user", "content": "<video>" + text},
                {"role": "assistant", "content": f"<think>{think}</think>\n<answer>{answer}</answer>"},
            ]
            converted.append({"messages": messages, "videos": [path]})
    with out.open("w", encoding="utf-8") as handle:
        json.dump(converted, handle, ensure_ascii=False, indent=2)


def published_rl(src: Path, out_dir: Path, root: Path) -> None:
    """The published RL way: all rows in memory as dicts, split, then one in-memory table per split."""
    items = [json.loads(line) for line in src.open(encoding="utf-8") if line.strip()]
    records = []
    for item in items:
        question = str(item.get("question", "")).strip()
        options = [str(o).strip() for o in item.get("options") or [] if str(o).strip()]
        mc = "multiple" in str(item.get("problem_type", "")).lower()
        if mc and options:
            question += "\nOptions:\n" + "\n".join(options)
        solution = str(item.get("solution", "")).strip()
        video = str((root / "Videos" / str(item["video_path"]).lstrip("./")).resolve())
        records.append(
            {
                "data_source": "videokr",
                "prompt": [{"role": "user", "content": "<video>\n" + question + INSTR + (MC if mc else OE)}],
                "videos": [
                    {
                        "video": video,
                        "fps": 2.0,
                        "max_frames": 128,
                        "min_frames": 4,
                        "max_pixels": 100352,
                        "min_pixels": 100352,
                    }
                ],
                "ability": "video_qa",
                "reward_model": {"style": "rule", "ground_truth": solution},
                "extra_info": {
                    "problem_id": item.get("problem_id"),
                    "problem_type": "multiple choice" if mc else "open-ended",
                    "answer": solution[8:-9],
                    "solution": solution,
                    "source_path": item["video_path"],
                },
            }
        )
    indices = list(range(len(records)))
    random.Random(42).shuffle(indices)
    val = set(indices[:500])
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for index, record in enumerate(records):
        split = "test" if index in val else "train"
        record["extra_info"] |= {"split": split, "index": len(splits[split])}
        splits[split].append(record)
    for split, rows in splits.items():
        try:
            import datasets

            datasets.Dataset.from_list(rows).to_parquet(str(out_dir / f"{split}.parquet"))
        except ImportError:
            import pandas as pd

            pd.DataFrame(rows).to_parquet(out_dir / f"{split}.parquet")


TARGET_SPEED = 1.5  # videokr's whole command at least this many times the published speed
TARGET_PEAK_MB = 500


@dataclass(frozen=True)
class Run:
    """One whole command: wall and CPU seconds, peak RSS in MB."""

    seconds: float
    cpu: float
    peak_mb: float


def commands(src: Path, tmp: Path) -> dict[str, list[str]]:
    """The four commands, each writing to its own folder under `tmp`."""
    published = [sys.executable, __file__, "--src", str(src), "--published"]
    videokr = [sys.executable, "-m", "videokr", "data"]
    return {
        "published-sft": [*published, "sft", "--out", str(tmp / "p-sft")],
        "videokr-sft": [*videokr, "prepare-sft", "--input", str(src), "--output-dir", str(tmp / "v-sft")],
        "published-rl": [*published, "rl", "--out", str(tmp / "p-rl")],
        "videokr-rl": [
            *[*videokr, "prepare-rl", "--input", str(src), "--output-dir", str(tmp / "v-rl")],
            *["--video-root", str(tmp / "v-rl"), "--no-length-filter"],
        ],
    }


def measure(argv: list[str]) -> Run:
    """Run `argv` to completion; its wall time seen from here, its own CPU time and peak RSS (Linux: KB)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv} exited {child.returncode}: {err.read().decode(errors='replace')[-2000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def best_of(argv: list[str], repeat: int) -> Run:
    """The fastest of `repeat` runs (a shared machine only ever slows a run down)."""
    return min((measure(argv) for _ in range(max(repeat, 1))), key=lambda run: run.seconds)


def report(rows: int, results: dict[str, Run]) -> None:
    """Print the table and the videokr / published ratios."""
    print(f"{'command':<15} {'wall s':>7} {'rows/s':>8} {'cpu s':>7} {'peak MB':>8}")
    for mode, r in results.items():
        print(f"{mode:<15} {r.seconds:>7.2f} {rows / r.seconds:>8.0f} {r.cpu:>7.2f} {r.peak_mb:>8.0f}")
    for stage in ("sft", "rl"):
        ours, theirs = results[f"videokr-{stage}"], results[f"published-{stage}"]
        speed = theirs.seconds / ours.seconds
        met = speed >= TARGET_SPEED and ours.peak_mb < TARGET_PEAK_MB
        print(
            f"{stage}: videokr is {speed:.2f}x the published speed in wall time "
            f"({theirs.cpu / ours.cpu:.2f}x in CPU time); peak RSS {ours.peak_mb:.0f} MB vs {theirs.peak_mb:.0f} MB "
            f"(target >= {TARGET_SPEED}x and < {TARGET_PEAK_MB} MB: {'met' if met else 'MISSED'})"
        )


def main() -> int:
    """Generate rows, time the four commands, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest counts")
    parser.add_argument("--published", choices=["sft", "rl"], help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.published:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.published == "sft":
            published_sft(args.src, args.out / "videokr_train.json")
        else:
            published_rl(args.src, args.out, args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rows.jsonl"
        generate(src, args.rows)
        print(
            f"{args.rows} rows, {src.stat().st_size / 2**20:.0f} MB of JSON lines; load average {os.getloadavg()[0]:.1f}"
        )
        results = {mode: best_of(argv, args.repeat) for mode, argv in commands(src, Path(tmp)).items()}
    report(args.rows, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
