"""`videokr data check|extract|download`: video-side verbs of the `data` noun (registered by cli/data.py)."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videokr.cli.common import print_table

if TYPE_CHECKING:
    from videokr.data.archives import ExtractReport

FAMILIES = ("qwen2_5_vl", "qwen3_vl")


def register_verbs(verbs: Any) -> None:
    """Add `check`, `extract` and `download` to the `data` noun's subparsers."""
    check = verbs.add_parser("check", help="probe every row's video: status, frames, visual and prompt tokens")
    check.add_argument("--input", required=True, type=Path, help="a corpus .jsonl / .json file")
    check.add_argument("--video-root", required=True, type=Path, help="relative video paths resolve here")
    check.add_argument("--family", required=True, choices=FAMILIES)
    check.add_argument(
        "--stage", choices=["sft", "rl", "eval"], default="rl", help="whose video settings (default rl)"
    )
    check.add_argument("--tokenizer", help="checkpoint directory: adds prompt_tokens and its video-processor config")
    check.add_argument(
        "--workers", type=int, help="processes probing videos (default 1; with --ray-address: the cluster's CPUs)"
    )
    check.add_argument("--ray-address", help="probe on this Ray cluster (host:port or auto) instead of locally")
    check.add_argument("--max-prompt-length", type=int, default=16384, help="over this a row is too_long")
    check.add_argument("--image-patch-size", type=int, help="verl's data.image_patch_size (default: the model's)")
    check.add_argument("--report", required=True, type=Path, help="per-row JSON lines go here")
    check.set_defaults(func=_check)

    extract = verbs.add_parser(
        "extract", help="safely extract *.tar and *.tar.part.* video archives (a re-run retries only failed ones)"
    )
    extract.add_argument("--archives", required=True, type=Path, help="directory holding the archives")
    extract.add_argument("--out", required=True, type=Path, help="extract here")
    extract.set_defaults(func=_extract)

    download = verbs.add_parser("download", help="fetch VideoKR-Train / -Eval from the hub and extract the videos")
    download.add_argument("--root", required=True, type=Path)
    download.add_argument("--what", default="train,eval", help="comma list of train, eval (default both)")
    download.add_argument("--no-extract", action="store_true", help="download only")
    download.set_defaults(func=_download)


def default_workers(workers: int | None, ray_address: str | None) -> int:
    """--workers as given; else 1 locally, or 0 (as many tasks in flight as the cluster has CPUs) on Ray."""
    if workers is not None:
        return max(workers, 1)
    return 0 if ray_address else 1


def _check(args: argparse.Namespace) -> int:
    from videokr.data.check import check_corpus

    summary = check_corpus(
        args.input,
        args.video_root,
        args.family,
        args.report,
        stage=args.stage,
        tokenizer=args.tokenizer,
        workers=default_workers(args.workers, args.ray_address),
        max_prompt_length=args.max_prompt_length,
        image_patch_size=args.image_patch_size,
        ray_address=args.ray_address,
    )
    print_table(summary.table(), ["status", "rows", "share"])
    print(
        f"{summary.rows} rows, mean {summary.mean_frames:.1f} frames, max {summary.max_visual_tokens} visual tokens"
        + (f", max {summary.max_prompt_tokens} prompt tokens" if args.tokenizer else "")
        + f"; report: {summary.report}"
    )
    return 0 if summary.statuses.get("ok", 0) == summary.rows else 1


def _extract(args: argparse.Namespace) -> int:
    from videokr.data.archives import extract_archives

    report = extract_archives(args.archives, args.out)
    rows = [
        {"archive": r.archive, "status": r.status, "members": r.members, "files": r.files, "refused": len(r.refused)}
        for r in report.results
    ]
    print_table(rows, ["archive", "status", "members", "files", "refused"])
    return _print_problems(report)


def _print_problems(report: "ExtractReport") -> int:
    """Print refused members and failed archives; 1 when there is any."""
    for item in report.refused:
        print(f"refused {item.archive}: {item.member!r}: {item.reason}")
    for result in report.failed:
        print(f"failed {result.archive} after {result.members} members: {result.reason}")
    if report.failed:
        print(f"{len(report.failed)} archives failed and were not extracted; run again to retry only those")
    return 1 if report.refused or report.failed else 0


def _download(args: argparse.Namespace) -> int:
    from videokr.data.download import download_datasets

    result = download_datasets(args.root, args.what, extract=not args.no_extract)
    code = 0
    for key, path in result.paths.items():
        report = result.extracted.get(key)
        done = f", {len(report.results) - len(report.failed)} archives extracted or up to date" if report else ""
        print(f"{key}: {path}{done}")
        code = max(code, _print_problems(report) if report else 0)
    return code
