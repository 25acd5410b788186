"""`videokr data validate|prepare-sft|prepare-rl|check|extract|download|decontaminate`: get, check and convert the VideoKR corpus."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videokr.cli.common import add_noun, print_table, run_stage_command
from videokr.families import FAMILIES

if TYPE_CHECKING:
    from videokr.data.archives import ExtractReport


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

    sft = verbs.add_parser(
        "prepare-sft",
        help="CoT corpus -> LLaMA-Factory sharegpt json + dataset_info.json",
        description="With RECIPE: the recipe's prepare-sft stage, run alone in its run directory (as `videokr run` "
        "runs it). Without: convert --input into --output-dir.",
    )
    _add_stage_form(sft, "data.sft_file=data/cot.jsonl")
    sft.add_argument("--input", type=Path)
    sft.add_argument("--output-dir", type=Path)
    sft.add_argument("--video-root", type=Path, help="write absolute video paths under this root (else relative)")
    sft.add_argument("--skip-missing-videos", action="store_true", help="skip rows whose video file does not exist")
    sft.add_argument("--style", choices=["compat", "unified"], default="compat", help="prompt style (default compat)")
    sft.set_defaults(func=_prepare_sft)

    rl = verbs.add_parser(
        "prepare-rl",
        help="corpus -> verl train.parquet / test.parquet (published split)",
        description="With RECIPE: the recipe's prepare-rl stage, run alone in its run directory (data.workers and "
        "data.ray_address spread the length filter). Without: convert --input into --output-dir.",
    )
    _add_stage_form(rl, "data.ray_address=auto")
    rl.add_argument("--input", type=Path)
    rl.add_argument("--output-dir", type=Path)
    rl.add_argument("--video-root", type=Path)
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
    _register_media_verbs(verbs)


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


def _add_stage_form(parser: argparse.ArgumentParser, example: str) -> None:
    """RECIPE [key=value ...] [--force] [--dry-run]: the verb as a one-stage run (see add_stage_arguments)."""
    parser.add_argument(
        "config", nargs="?", metavar="RECIPE", help="run the recipe's stage (a YAML, a shipped name or a run dir)"
    )
    parser.add_argument("overrides", nargs="*", help=f"with RECIPE: dotted overrides, e.g. {example}")
    parser.add_argument("--force", action="store_true", help="with RECIPE: run even when unchanged")
    parser.add_argument("--dry-run", action="store_true", help="with RECIPE: print what the stage would run")


def _stage_or_converter(args: argparse.Namespace, name: str, required: tuple[str, ...]) -> int | None:
    """Run the recipe's stage when RECIPE is given (its exit code); None when the converter flags are used."""
    from videokr.errors import ConfigError

    if args.config is None:
        missing = [f"--{flag.replace('_', '-')}" for flag in required if getattr(args, flag) is None]
        if missing:
            raise ConfigError(f"data {name} needs RECIPE, or {' and '.join(missing)}")
        return None
    result = run_stage_command(args, name)
    if result is not None and name in result.ran:
        outputs = result.manifest["stages"][name].get("outputs", {})
        print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in outputs.items()))
    return 0


def _prepare_sft(args: argparse.Namespace) -> int:
    from videokr.data.sft import prepare_sft

    code = _stage_or_converter(args, "prepare-sft", ("input", "output_dir"))
    if code is not None:
        return code

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

    code = _stage_or_converter(args, "prepare-rl", ("input", "output_dir", "video_root"))
    if code is not None:
        return code

    length_filter = None
    if not args.no_length_filter:
        length_filter = LengthFilter(
            args.max_prompt_length,
            args.model,
            args.family,
            default_workers(args.workers, args.ray_address),
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


def _register_media_verbs(verbs: Any) -> None:
    """The verbs that touch videos: `check`, `extract` and `download`."""
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
    _register_decontaminate(verbs)


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


class _AgainstAction(argparse.Action):
    """--against FILE appends a benchmark; --against-video-root DIR sets the video root of the last one."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, option: Any = None
    ) -> None:
        against = list(getattr(namespace, "against", None) or [])
        if self.dest == "against":
            against.append([Path(value), None])
        elif not against or against[-1][1] is not None:
            parser.error("--against-video-root must follow the --against file it belongs to")
        else:
            against[-1][1] = Path(value)
        namespace.against = against


def _register_decontaminate(verbs: Any) -> None:
    decon = verbs.add_parser(
        "decontaminate",
        help="remove training rows that share a source id, a video stretch or a question with benchmarks",
        description="Writes OUT/kept.jsonl, OUT/contaminated.jsonl (each row with a `contamination` object), "
        "OUT/report.json and OUT/report.md. Exit 1 when some row or video could not be checked (see the report).",
    )
    decon.add_argument("--input", required=True, type=Path, help="the training .jsonl / .json file")
    decon.add_argument("--video-root", type=Path, help="its relative video paths resolve here (default: its folder)")
    decon.add_argument("--against", action=_AgainstAction, metavar="FILE", help="a benchmark file (repeatable)")
    decon.add_argument(
        "--against-video-root", action=_AgainstAction, metavar="DIR", help="video root of the preceding --against"
    )
    decon.add_argument(
        "--against-videos", action="append", type=Path, default=[], metavar="DIR", help="a folder of benchmark videos"
    )
    decon.add_argument("--output-dir", required=True, type=Path)
    decon.add_argument("--cache-dir", type=Path, help="frame-hash cache (default OUT/cache); share it across runs")
    decon.add_argument(
        "--workers", type=int, help="processes hashing videos (default 1; with --ray-address: the cluster's CPUs)"
    )
    decon.add_argument("--ray-address", help="hash on this Ray cluster (host:port or auto) instead of locally")
    decon.set_defaults(func=_decontaminate, against=None)


def _decontaminate(args: argparse.Namespace) -> int:
    from videokr.data.decontam import Benchmark, DecontaminateSettings, decontaminate

    result = decontaminate(
        DecontaminateSettings(
            input=args.input,
            video_root=args.video_root,
            against=[Benchmark(rows=rows, video_root=root) for rows, root in args.against or []],
            against_videos=args.against_videos,
            output_dir=args.output_dir,
            workers=default_workers(args.workers, args.ray_address),
            ray_address=args.ray_address,
            cache_dir=args.cache_dir,
        )
    )
    print(f"{result.kept} kept, {result.contaminated} contaminated; report: {result.report_path}")
    if result.by_reason:
        print_table([{"reason": k, "rows": v} for k, v in result.by_reason.items()], ["reason", "rows"])
    if result.issues:
        print(f"{result.issues} issues (unreadable rows, videos not checked), listed in {result.report_path}")
    return 1 if result.issues else 0
