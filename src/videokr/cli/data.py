"""`videokr data validate|prepare-sft|prepare-rl`: check and convert the VideoKR corpus."""

import argparse
from pathlib import Path
from typing import Any

from videokr.cli import data_media
from videokr.cli.common import add_noun, print_table

FAMILIES = ("qwen2_5_vl", "qwen3_vl")


def register(subparsers: Any) -> None:
    """Add `videokr data ...`."""
    verbs = add_noun(subparsers, "data", "validate and convert VideoKR corpus files")

    validate = verbs.add_parser("validate", help="list every problem of a corpus file as (line, field, message)")
    validate.add_argument("file", type=Path, help="a .jsonl or .json corpus file")
    validate.add_argument(
        "--max-issues", type=int, default=20, help="issues to print (default 20; all go to --report)"
    )
    validate.add_argument("--report", type=Path, help="write every issue to this .jsonl file")
    validate.set_defaults(func=_validate)

    sft = verbs.add_parser("prepare-sft", help="CoT corpus -> LLaMA-Factory sharegpt json + dataset_info.json")
    sft.add_argument("--input", required=True, type=Path)
    sft.add_argument("--output-dir", required=True, type=Path)
    sft.add_argument("--video-root", type=Path, help="write absolute video paths under this root (else relative)")
    sft.add_argument("--skip-missing-videos", action="store_true", help="skip rows whose video file does not exist")
    sft.add_argument("--style", choices=["compat", "unified"], default="compat", help="prompt style (default compat)")
    sft.set_defaults(func=_prepare_sft)

    rl = verbs.add_parser("prepare-rl", help="corpus -> verl train.parquet / test.parquet (published split)")
    rl.add_argument("--input", required=True, type=Path)
    rl.add_argument("--output-dir", required=True, type=Path)
    rl.add_argument("--video-root", required=True, type=Path)
    rl.add_argument("--val-size", type=int, default=500)
    rl.add_argument("--seed", type=int, default=42)
    rl.add_argument("--model", help="checkpoint whose tokenizer, chat template and video processor count tokens")
    rl.add_argument("--family", choices=FAMILIES, help="model family (default: read from --model's config)")
    rl.add_argument("--max-prompt-length", type=int, default=16384)
    rl.add_argument(
        "--image-patch-size",
        type=int,
        help="verl's data.image_patch_size for the count (default: the processor's own; 14 reproduces the "
        "published Qwen3-VL filter, PROTOCOL.md section 8)",
    )
    rl.add_argument("--no-length-filter", action="store_true", help="neither probe videos nor count tokens")
    rl.add_argument("--style", choices=["compat", "unified"], default="compat", help="prompt style (default compat)")
    rl.add_argument(
        "--workers",
        type=int,
        help="processes for probing and counting (default 1; with --ray-address: the cluster's CPUs)",
    )
    rl.add_argument("--ray-address", help="probe and count on this Ray cluster (host:port or auto) instead of locally")
    rl.set_defaults(func=_prepare_rl)
    data_media.register_verbs(verbs)  # check, extract, download


def _validate(args: argparse.Namespace) -> int:
    from videokr.data.validate import validate_file
    from videokr.io import write_jsonl

    result = validate_file(args.file)
    for issue in result.issues[: max(args.max_issues, 0)]:
        print(f"{result.path}:{issue.line}: {issue.severity}: {issue.field}: {issue.message}")
    hidden = len(result.issues) - max(args.max_issues, 0)
    if hidden > 0:
        print(f"... {hidden} more issues" + ("" if args.report else " (write them all with --report OUT.jsonl)"))
    if args.report:
        write_jsonl(args.report, (issue.to_dict() for issue in result.issues))
        print(f"wrote {len(result.issues)} issues to {args.report}")
    print(f"{result.path}: {result.rows} rows, {result.errors} errors, {result.warnings} warnings")
    return 0 if result.ok else 1


def _prepare_sft(args: argparse.Namespace) -> int:
    from videokr.data.sft import prepare_sft

    result = prepare_sft(
        args.input,
        args.output_dir,
        video_root=args.video_root,
        skip_missing_videos=args.skip_missing_videos,
        style=args.style,
    )
    print(f"wrote {result.written} samples to {result.output} (+ {result.dataset_info.name})")
    if result.skipped:
        print(f"skipped {result.skipped} rows, listed in {result.skipped_report}:")
        print_table([{"field": k, "rows": v} for k, v in sorted(result.reasons.items())], ["field", "rows"])
    return 0


def _prepare_rl(args: argparse.Namespace) -> int:
    from videokr.data.rl import LengthFilter, prepare_rl

    length_filter = None
    if not args.no_length_filter:
        length_filter = LengthFilter(
            args.max_prompt_length,
            args.model,
            args.family,
            data_media.default_workers(args.workers, args.ray_address),
            args.image_patch_size,
            ray_address=args.ray_address,
        )
    result = prepare_rl(
        args.input,
        args.output_dir,
        args.video_root,
        val_size=args.val_size,
        seed=args.seed,
        style=args.style,
        length_filter=length_filter,
    )
    print(f"read {result.rows_read} rows; {result.split_rows} in the published split set")
    print(f"wrote {result.train_rows} rows to {result.train} and {result.test_rows} to {result.test}")
    if result.dropped:
        print(f"dropped {sum(result.dropped.values())} rows, listed in {result.dropped_report}:")
        print_table([{"reason": k, "rows": v} for k, v in sorted(result.dropped.items())], ["reason", "rows"])
    return 0
