"""prepare-sft / prepare-rl against the published converters' way, on generated rows: rows/s and peak RSS.

Run: .venv/bin/python benchmarks/convert.py [--rows 200000]

Each conversion runs in its own subprocess, which reports its own wall time and peak RSS
(resource.getrusage(RUSAGE_SELF).ru_maxrss). The "published" runs re-implement the published converters' way
of working: SFT builds every entry in a list then json.dump(indent=2); RL holds every row in memory, splits,
then writes each split with datasets (as the published script does), or pandas + pyarrow when datasets is
missing. videokr's runs use `--no-length-filter` (videos are not probed), as the published converter never
opens videos either.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
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


def run_child(mode: str, src: Path, out: Path) -> None:
    """Run one conversion in this process and print its seconds and peak RSS (MB) as JSON."""
    out.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "published-sft":
        published_sft(src, out / "videokr_train.json")
    elif mode == "published-rl":
        published_rl(src, out, out)
    elif mode == "videokr-sft":
        from videokr.data.sft import prepare_sft

        prepare_sft(src, out)
    elif mode == "videokr-rl":
        from videokr.data.rl import prepare_rl

        prepare_rl(src, out, out)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb}))


def measure(mode: str, src: Path, out: Path) -> dict[str, float]:
    """Run `mode` in a fresh interpreter and return its report."""
    argv = [sys.executable, __file__, "--child", mode, "--src", str(src), "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Generate rows, run the four conversions, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.src, args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rows.jsonl"
        generate(src, args.rows)
        print(f"{args.rows} rows, {src.stat().st_size / 2**20:.0f} MB of JSON lines")
        results = {
            mode: measure(mode, src, Path(tmp) / mode)
            for mode in ("published-sft", "videokr-sft", "published-rl", "videokr-rl")
        }
    # CPU seconds are printed beside wall seconds: on a shared machine they are the steadier comparison.
    print(f"{'conversion':<15} {'wall s':>7} {'rows/s':>8} {'cpu s':>7} {'rows/cpu-s':>10} {'peak MB':>8}")
    for mode, r in results.items():
        print(
            f"{mode:<15} {r['seconds']:>7.1f} {args.rows / r['seconds']:>8.0f} {r['cpu']:>7.1f} "
            f"{args.rows / r['cpu']:>10.0f} {r['peak_mb']:>8.0f}"
        )
    for stage in ("sft", "rl"):
        ours, theirs = results[f"videokr-{stage}"], results[f"published-{stage}"]
        print(
            f"{stage}: videokr is {theirs['seconds'] / ours['seconds']:.2f}x the published speed in wall time "
            f"({theirs['cpu'] / ours['cpu']:.2f}x in CPU time), with {ours['peak_mb'] / theirs['peak_mb']:.2f}x its peak RSS"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
