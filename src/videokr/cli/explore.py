"""`videokr explore RUN_DIR [--out DIR] [--frames N] [--serve [--port N] [--review FILE]]`: the run explorer."""

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add `videokr explore`."""
    explore = subparsers.add_parser(
        "explore",
        help="write a run's explorer (stages, metrics, every sample and verdict; review page) and optionally serve it",
        description="Writes a self-contained static site (no network) to RUN_DIR/explorer: the run page, the "
        "samples page (every eval row, each checkpoint's output and verdict, filters and flips) and the review page "
        "for `videokr build review export` files. Example: videokr explore runs/demo --serve",
    )
    explore.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory (runs/<name>)")
    explore.add_argument("--out", type=Path, help="where to write the site (default RUN_DIR/explorer)")
    explore.add_argument(
        "--frames", type=int, default=0, metavar="N", help="also extract N frames per video into the site (PyAV)"
    )
    explore.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 until interrupted")
    explore.add_argument("--port", type=int, default=8765, help="port for --serve (default 8765; 0: any free port)")
    explore.add_argument(
        "--review",
        type=Path,
        metavar="FILE",
        help="with --serve: review this export file; verdicts go to FILE.verdicts.jsonl beside it",
    )
    explore.set_defaults(func=_explore)


def _explore(args: argparse.Namespace) -> int:
    from videokr.errors import ConfigError
    from videokr.explore import write_explorer
    from videokr.explore.server import make_server

    if args.review is not None and not args.serve:
        raise ConfigError("--review needs --serve (without the server, open review.html and pick the file)")
    index = write_explorer(args.run_dir, args.out, frames=args.frames)
    print(f"explorer: {index}")
    if not args.serve:
        return 0
    server = make_server(index.parent, run_dir=args.run_dir, port=args.port, review=args.review)
    print(f"serving {server.url} (127.0.0.1 only); Ctrl+C stops")
    if args.review is not None:
        print(f"review: {server.url.replace('index.html', 'review.html')} -> {args.review}.verdicts.jsonl")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def explorer_line(run_dir: Path) -> str:
    """Write RUN_DIR/explorer after `videokr run` / `videokr demo`; the summary line (a failure is reported, not raised).

    The run itself succeeded by then: a run dir the explorer cannot read must not turn it into a failed command.
    """
    from videokr.errors import VideoKRError
    from videokr.explore import write_explorer

    try:
        return f"explorer: {write_explorer(run_dir)}"
    except (VideoKRError, OSError, ValueError) as exc:
        return f"explorer: not written ({exc}); retry with: videokr explore {run_dir}"
