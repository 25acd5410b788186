#!/usr/bin/env python3
"""The published SFT data converter, now `videokr data prepare-sft`.

    python scripts/prepare_videokr_sft_data.py --input data/raw/VideoKR-COT-201K.jsonl --output data/videokr_train.json

The output file's folder receives videokr_train.json and dataset_info.json (entry `videokr_train`).
"""

import argparse
import sys
from pathlib import Path

from _translate import run_translated  # scripts/ is on sys.path when a script runs


def translate(argv: list[str]) -> list[str]:
    """The published flags as a `videokr data prepare-sft` command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", default="data/videokr_train.json", help="…/videokr_train.json")
    parser.add_argument("--video-root", "--video_base_dir", dest="video_root")
    parser.add_argument("--dry-run", action="store_true", help="print the videokr command only")
    args = parser.parse_args(argv)
    output = Path(args.output)
    if output.name != "videokr_train.json":
        parser.error("--output must end in videokr_train.json (the name dataset_info.json registers)")
    command = ["data", "prepare-sft", "--input", args.input, "--output-dir", str(output.parent)]
    if args.video_root:
        command += ["--video-root", args.video_root]
    return command


if __name__ == "__main__":
    sys.exit(run_translated(translate))
