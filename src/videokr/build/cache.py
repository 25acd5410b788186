"""The model-call cache: one JSON line per answered call, keyed by (endpoint model, prompt version, input digest).

A re-run or a resumed run finds every call already answered here and sends nothing; lines are appended and fsync'd
as each reply arrives, so a killed run loses no paid-for answer. Failed calls are kept too (re-asked only with
`retry_failed`), so a re-run costs nothing for them either.
"""

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videokr.io import append_jsonl, read_jsonl


def input_digest(payload: Any) -> str:
    """sha256 of a JSON-able payload (messages, schema, sampling settings), independent of key order.

    >>> input_digest({"a": 1, "b": [2]}) == input_digest({"b": [2], "a": 1})
    True
    """
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def call_key(model: str, prompt_version: str, digest: str) -> str:
    """The cache key of one call.

    >>> call_key("m", "scenarios/v1", "ab")[:12]
    'm|scenarios/'
    """
    return f"{model}|{prompt_version}|{digest}"


@dataclass(frozen=True)
class CachedCall:
    """What a call returned: the validated value, or why it failed; tokens it cost when it was made."""

    ok: bool
    value: Any = None
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class CallCache:
    """Calls by key, loaded from and appended to `path` (None: in memory only)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._calls: dict[str, CachedCall] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            for entry in read_jsonl(self.path):
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    self._calls[entry["key"]] = CachedCall(
                        bool(entry.get("ok")),
                        entry.get("value"),
                        str(entry.get("error", "")),
                        int(entry.get("prompt_tokens", 0)),
                        int(entry.get("completion_tokens", 0)),
                    )

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, key: str) -> CachedCall | None:
        """The cached call, or None."""
        return self._calls.get(key)

    def put(self, key: str, call: CachedCall) -> None:
        """Remember `call`; with a file, append it durably before returning (a later entry wins on reload)."""
        with self._lock:
            self._calls[key] = call
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # fsync'd: a paid call survives a kill; cheap next to an HTTP round trip
            append_jsonl(self.path, {"key": key, **call.__dict__})
