"""An LLM judge over any OpenAI-compatible chat endpoint, with retries, timeouts and a verdict cache.

The prompts follow PROTOCOL.md section 6: strict for multiple choice, lenient for open-ended answers; the judge
replies "1" (correct) or "0". The API key is read from the environment and is never logged or written.
"""

import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from videokr.errors import JudgeError
from videokr.scoring.cache import VerdictCache, cache_key

logger = logging.getLogger(__name__)

Message = dict[str, str]
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Published: temperature 1, which makes judged scores differ between runs; videokr defaults to 0.
DEFAULT_TEMPERATURE = 0.0
COMPAT_TEMPERATURE = 1.0
MAX_TOKENS = 256
FATAL_STATUSES = frozenset({401, 403, 404})

MC_PROMPT = (
    "You are grading a model's answer to a multiple-choice question about a video. Be strict: the answer is "
    "correct only if it selects the same option as the reference answer, by its letter or by that option's "
    "content. An answer that picks another option, several options, or no clear option is incorrect.\n\n"
    "Question:\n{question}\n\nOptions:\n{options}\n\nReference answer: {answer}\nModel's answer: {prediction}\n\n"
    "Reply with 1 if the model's answer is correct and 0 if it is not. Reply with the single digit only."
)
OPEN_PROMPT = (
    "You are grading a model's answer to an open-ended question about a video. Be lenient about wording: the "
    "answer is correct if it means the same as the reference answer. Accept synonyms, paraphrases, "
    "abbreviations or full names of the same thing, and numbers that agree within reasonable precision "
    "(rounding, equivalent units). It is incorrect if it contradicts the reference, misses its essential "
    "content or answers a different question.\n\n"
    "Question:\n{question}\n\nReference answer: {answer}\nModel's answer: {prediction}\n\n"
    "Reply with 1 if the model's answer is correct and 0 if it is not. Reply with the single digit only."
)


class Judge(Protocol):
    """What scoring needs from a judge: a model name, a temperature and one reply per conversation."""

    model: str
    temperature: float

    def complete(self, messages: Sequence[Message]) -> str | None:
        """The reply text, or None when the judge kept failing."""
        ...


def build_judge_messages(
    kind: Literal["multiple choice", "open-ended"], question: str, options: str, answer: str, prediction: str
) -> list[Message]:
    """The one-message conversation asking the judge about one prediction."""
    template = MC_PROMPT if kind == "multiple choice" else OPEN_PROMPT
    text = template.format(question=question, options=options, answer=answer, prediction=prediction)
    return [{"role": "user", "content": text}]


def parse_verdict(reply: str, *, compat: bool = False) -> bool | None:
    """Read a judge reply: published rule "contains 1" in compat; otherwise exactly one of 1 / 0, else None.

    >>> parse_verdict("1"), parse_verdict(" 0. "), parse_verdict("Score: 1")
    (True, False, True)
    >>> parse_verdict("10") is None, parse_verdict("yes") is None, parse_verdict("10", compat=True)
    (True, True, True)
    """
    if compat:
        return "1" in reply
    has_one, has_zero = "1" in reply, "0" in reply
    if has_one == has_zero:
        return None
    return has_one


def parse_judge_spec(spec: str) -> tuple[str, str]:
    """Split "openai:MODEL" into provider and model (the model may contain colons).

    >>> parse_judge_spec("openai:gpt-4o"), parse_judge_spec("openai:qwen2.5:7b")
    (('openai', 'gpt-4o'), ('openai', 'qwen2.5:7b'))
    """
    provider, sep, model = spec.partition(":")
    if not sep or not model.strip():
        raise JudgeError(f"judge spec {spec!r} must look like openai:MODEL (e.g. openai:gpt-4o)")
    if provider != "openai":
        raise JudgeError(f"unknown judge provider {provider!r} in {spec!r}: only 'openai' (any compatible endpoint)")
    return provider, model.strip()


@dataclass
class OpenAIJudge:
    """A chat-completions client: bounded concurrency, timeouts, retries with exponential backoff, cached replies."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = MAX_TOKENS
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    concurrency: int = 8
    cache: VerdictCache = field(default_factory=lambda: VerdictCache(None))
    requests_made: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _key_locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(max(1, self.concurrency))

    def complete(self, messages: Sequence[Message]) -> str | None:
        """The judge's reply (from the cache when asked before), or None after `max_retries` retries failed."""
        key = cache_key(self.model, messages, self.temperature)
        with self._lock:  # one request per distinct question, even when threads ask it at once
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
            with self._slots:
                reply = self._request_with_retries(messages)
            if reply is not None:
                self.cache.put(key, reply, model=self.model, temperature=self.temperature)
            return reply

    def _request_with_retries(self, messages: Sequence[Message]) -> str | None:
        for attempt in range(self.max_retries + 1):
            delay = self.backoff_s * (2**attempt)
            try:
                return self._request(messages)
            except urllib.error.HTTPError as exc:
                if exc.code in FATAL_STATUSES:
                    raise JudgeError(f"judge endpoint {self.base_url} refused the request: HTTP {exc.code}") from None
                if exc.code != 429 and exc.code < 500:
                    logger.warning("judge request rejected: HTTP %s (not retried)", exc.code)
                    return None
                delay = max(delay, _retry_after(exc))
                logger.warning("judge HTTP %s, attempt %d/%d", exc.code, attempt + 1, self.max_retries + 1)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                logger.warning(
                    "judge unreachable (%s), attempt %d/%d", type(exc).__name__, attempt + 1, self.max_retries + 1
                )
            except ValueError as exc:
                logger.warning("judge reply malformed (%s), attempt %d/%d", exc, attempt + 1, self.max_retries + 1)
            if attempt < self.max_retries:
                time.sleep(min(self.max_backoff_s, delay) * (1 + 0.1 * random.random()))
        return None

    def _request(self, messages: Sequence[Message]) -> str:
        body = {
            "model": self.model,
            "messages": list(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.base_url.rstrip('/')}/chat/completions", data=json.dumps(body).encode(), headers=headers
        )
        with self._lock:
            self.requests_made += 1
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            payload = response.read()
        return _reply_text(payload)


def _reply_text(payload: bytes) -> str:
    """The first choice's message content; ValueError when the body is not a chat completion."""
    try:
        content = json.loads(payload)["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"not a chat completion: {payload[:80]!r}") from exc
    if not isinstance(content, str):
        raise ValueError("reply content is not text")
    return content


def _retry_after(exc: urllib.error.HTTPError) -> float:
    """Seconds from a Retry-After header (0 when absent or not a number)."""
    try:
        return float(exc.headers.get("Retry-After", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def make_judge(
    spec: str,
    *,
    cache_path: str | Path | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    base_url: str | None = None,
    concurrency: int = 8,
    timeout_s: float = 60.0,
    max_retries: int = 5,
    backoff_s: float = 1.0,
) -> OpenAIJudge:
    """A judge for `spec` ("openai:MODEL"); base URL from `base_url` or OPENAI_BASE_URL, key from OPENAI_API_KEY."""
    _, model = parse_judge_spec(spec)
    return OpenAIJudge(
        model=model,
        base_url=base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        api_key=os.environ.get("OPENAI_API_KEY") or None,
        temperature=temperature,
        timeout_s=timeout_s,
        max_retries=max_retries,
        backoff_s=backoff_s,
        concurrency=concurrency,
        cache=VerdictCache(cache_path),
    )
