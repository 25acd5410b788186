#!/usr/bin/env python3
"""The published RL data converter, now `videokr data prepare-rl`.

    python scripts/prepare_videokr_rl_data.py --dataset_name minuzero/VideoKR-Train \
        --data_file VideoKR-RL-114K.jsonl --video_base_dir /path/to/VideoKR-Train --output_dir data/videokr_rl

The rows are read from a local file: `--data_file` itself when it exists, else `<video_base_dir>/<data_file>`
(fetch it first with `videokr data download`). `--model` adds the metadata-based prompt-length filter.
"""

import argparse
import sys
from pathlib import Path

from _translate import run_translated  # scripts/ is on sys.path when a script runs


def translate(argv: list[str]) -> list[str]:
    """The published flags as a `videokr data prepare-rl` command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset_name", default="minuzero/VideoKR-Train", help="informational: data is local")
    parser.add_argument("--data_file", default="VideoKR-RL-114K.jsonl")
    parser.add_argument("--video_base_dir", required=True)
    parser.add_argument("--output_dir", default="data/videokr_rl")
    parser.add_argument("--val_size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", help="checkpoint whose tokenizer and processor count prompt tokens")
    parser.add_argument("--max_prompt_length", type=int, default=16384)
    args = parser.parse_args(argv)
    data_file = Path(args.data_file)
    if not data_file.exists():
        data_file = Path(args.video_base_dir) / args.data_file
    command = ["data", "prepare-rl", "--input", str(data_file), "--output-dir", args.output_dir]
    command += ["--video-root", args.video_base_dir, "--val-size", str(args.val_size), "--seed", str(args.seed)]
    if args.model:
        command += ["--model", args.model, "--max-prompt-length", str(args.max_prompt_length)]
    else:
        command += ["--no-length-filter"]
    return command


if __name__ == "__main__":
    sys.exit(run_translated(translate))
