"""A scripted OpenAI-compatible chat endpoint on 127.0.0.1, for tests, benchmarks and dry runs of a build.

`StubServer(respond)` serves `POST /v1/chat/completions` in a thread; `respond(body)` returns a StubReply (status,
JSON body or raw bytes, headers, delay), so a test scripts valid replies, malformed JSON, schema violations,
refusals, 429 with Retry-After, 5xx and slow replies. `fill_schema` makes a minimal value matching a JSON schema.
"""

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class StubReply:
    """What the stub answers to one request."""

    status: int = 200
    body: Any = None  # a JSON value, or bytes sent as they are
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def chat_reply(content: str | None, refusal: str | None = None, tokens: tuple[int, int] = (10, 5)) -> StubReply:
    """A 200 chat completion whose first choice says `content` (or refuses)."""
    message = {"role": "assistant", "content": content, "refusal": refusal}
    body = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": "stub",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
    }
    return StubReply(body=body)


def fill_schema(schema: Mapping[str, Any]) -> Any:
    """A minimal value matching a (simple) JSON schema: enums' first value, minItems items, minimum numbers.

    >>> fill_schema({"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": 2}}})
    {'ok': True, 'n': 2}
    """
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: fill_schema(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [fill_schema(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "x" * max(1, schema.get("minLength", 1))


def schema_of(body: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The schema name and schema a request asked for."""
    spec = body.get("response_format", {}).get("json_schema", {})
    return str(spec.get("name", "")), spec.get("schema", {})


def valid_reply(body: Mapping[str, Any]) -> StubReply:
    """A reply that fills the request's schema (the default responder)."""
    return chat_reply(json.dumps(fill_schema(schema_of(body)[1])))


class StubServer:
    """A threaded HTTP server on 127.0.0.1 answering chat completions with `respond`; a context manager."""

    def __init__(self, respond: Callable[[dict[str, Any]], StubReply] = valid_reply) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                reply = server.respond(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The `base_url` of an endpoint pointing here."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> "StubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
