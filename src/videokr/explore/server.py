"""`videokr explore --serve`: the static site over HTTP on 127.0.0.1, and the review page's verdicts endpoint.

Standard library only. GET serves files under `root` (the run directory when the site lies inside it, so the
run page's links to each stage's command.sh and engine.log resolve); GET /api/review returns the export file
named by --review and the verdicts saved so far; POST /api/verdicts saves verdicts into FILE.verdicts.jsonl
beside the export, atomically (videokr.explore.review.save_verdicts).
"""

import functools
import json
import logging
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from videokr.errors import DataError
from videokr.explore.review import parse_verdict, read_export, read_verdicts, save_verdicts, verdicts_path

LOG = logging.getLogger(__name__)
HOST = "127.0.0.1"  # never another interface: the verdicts endpoint writes files
MAX_BODY = 16 * 1024 * 1024


class ExplorerServer(ThreadingHTTPServer):
    """The HTTP server with what its handlers need: the site's URL path and the review file."""

    def __init__(self, port: int, root: Path, site_path: str, review: Path | None) -> None:
        self.root, self.site_path, self.review = root, site_path, review
        self.lock = threading.Lock()  # one verdicts write at a time
        handler = functools.partial(ExplorerHandler, directory=str(root))
        super().__init__((HOST, port), handler)

    @property
    def url(self) -> str:
        """The run page's address."""
        return f"http://{HOST}:{self.server_address[1]}{self.site_path}index.html"


class ExplorerHandler(SimpleHTTPRequestHandler):
    """Static files, plus /api/review (GET) and /api/verdicts (POST)."""

    server: ExplorerServer

    def do_GET(self) -> None:
        if self.path in ("/", ""):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", self.server.site_path + "index.html")
            self.end_headers()
        elif self.path.split("?")[0] == "/api/review":
            self._review()
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/api/verdicts":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
            return
        review = self.server.review
        if review is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "no review file: start with --serve --review FILE"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            verdicts = [parse_verdict(v) for v in (body if isinstance(body, list) else [body])]
            known = {item.review_id for item in read_export(review)}
            unknown = [v.review_id for v in verdicts if v.review_id not in known]
            if unknown:
                raise ValueError(f"review_id {unknown[0]!r} is not in {review.name}")
            with self.server.lock:
                saved = save_verdicts(verdicts_path(review), verdicts)
        except (ValueError, DataError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"saved": len(verdicts), "decided": len(saved), "file": str(verdicts_path(review))})

    def _review(self) -> None:
        review = self.server.review
        if review is None:  # 200, not 404: the page asks on every load, and a 404 is a console error in it
            self._json(HTTPStatus.OK, {"file": None, "items": None, "verdicts": []})
            return
        try:
            items = [vars(item) for item in read_export(review)]
            path = verdicts_path(review)
            verdicts = [v.to_dict() for v in read_verdicts(path)] if path.is_file() else []
        except DataError as exc:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"file": review.name, "items": items, "verdicts": verdicts})

    def _json(self, status: HTTPStatus, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)


def make_server(
    site_dir: str | Path, *, run_dir: str | Path | None = None, port: int = 0, review: str | Path | None = None
) -> ExplorerServer:
    """A server (not yet serving) of `site_dir` on 127.0.0.1:`port` (0: any free port).

    Files are served from `run_dir` when the site lies inside it (the run page links the stages' files), else from
    the site folder alone.
    """
    site = Path(site_dir).absolute()
    root = site
    if run_dir is not None and site.is_relative_to(Path(run_dir).absolute()):
        root = Path(run_dir).absolute()
    site_path = "/" + "".join(f"{part}/" for part in site.relative_to(root).parts)
    review_path = Path(review).absolute() if review is not None else None
    if review_path is not None:
        read_export(review_path)  # a bad export file fails here, with its bad lines, not in the page
    return ExplorerServer(port, root, site_path, review_path)
