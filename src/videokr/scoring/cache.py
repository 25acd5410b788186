"""A persistent judge-verdict cache: one JSON line per reply, appended and fsync'd as soon as it arrives."""

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from videokr.io import append_jsonl, read_jsonl

logger = logging.getLogger(__name__)


def cache_key(model: str, messages: Sequence[dict[str, str]], temperature: float) -> str:
    """sha256 of the model, the messages and the temperature: the same question to the same judge, same key.

    >>> cache_key("gpt-4o", [{"role": "user", "content": "1?"}], 0.0) == cache_key("gpt-4o", [{"role": "user", "content": "1?"}], 0)
    True
    """
    blob = json.dumps(
        {"model": model, "messages": list(messages), "temperature": float(temperature)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    """Judge replies by `cache_key`, loaded from and appended to a jsonl file (a killed run loses no verdict)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._replies: dict[str, str] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            for entry in read_jsonl(self.path):
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("key"), str)
                    and isinstance(entry.get("reply"), str)
                ):
                    self._replies[entry["key"]] = entry["reply"]
            logger.info("judge cache %s: %d verdicts", self.path, len(self._replies))

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, key: str) -> str | None:
        """The cached reply for `key`, or None."""
        return self._replies.get(key)

    def put(self, key: str, reply: str, **meta: Any) -> None:
        """Remember `reply` and, with a file, append it durably before returning."""
        with self._lock:
            if key in self._replies:
                return
            self._replies[key] = reply
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                append_jsonl(self.path, {"key": key, "reply": reply, **meta})
