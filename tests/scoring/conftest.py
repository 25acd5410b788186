"""A stub OpenAI-compatible chat endpoint on 127.0.0.1; the `model` field of a request picks its behaviour."""

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

REFERENCE_RE = re.compile(r"Reference answer: (.*)\nModel's answer: (.*)\n\n", re.DOTALL)


@dataclass
class StubState:
    """What the stub saw: every request body and header, and per-behaviour counters."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return len(self.bodies)


def _grade(body: dict[str, Any]) -> str:
    match = REFERENCE_RE.search(body["messages"][-1]["content"])
    assert match, "prompt lacks the reference / model answer lines"
    reference, answer = (part.strip().casefold() for part in match.groups())
    return "1" if reference == answer else "0"


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _reply(self, text: str) -> None:
            self._send(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode())

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.bodies.append(body)
                state.auth_headers.append(self.headers.get("Authorization"))
                key = body["model"] + body["messages"][-1]["content"]
                state.seen[key] += 1
                attempt = state.seen[key]
            model = body["model"]
            if self.path != "/v1/chat/completions":
                self._send(404, b"no such route")
            elif model == "good":
                self._reply(_grade(body))
            elif model == "chatty":
                self._reply(f"The verdict is {_grade(body)}.")
            elif model == "malformed":
                self._send(200, b"<html>not json</html>")
            elif model == "nocontent":
                self._send(200, json.dumps({"choices": []}).encode())
            elif model == "slow":
                time.sleep(1.0)
                self._reply(_grade(body))
            elif model == "ratelimited":
                if attempt == 1:
                    self._send(429, b"slow down", {"Retry-After": "0"})
                else:
                    self._reply(_grade(body))
            elif model == "broken":
                self._send(500, b"internal error")
            elif model == "unauthorized":
                self._send(401, b"bad key")
            else:
                self._send(400, b"unknown model")

    return Handler


@dataclass
class Stub:
    """A running stub: its base URL and what it saw."""

    base_url: str
    state: StubState


@pytest.fixture
def stub_server() -> Iterator[Stub]:
    """A fresh stub endpoint per test, shut down afterwards."""
    state = StubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Stub(f"http://127.0.0.1:{server.server_address[1]}/v1", state)
    finally:
        server.shutdown()
        server.server_close()
