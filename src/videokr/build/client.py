"""One client for every model call of `videokr build`: structured output, validation, retries, cache and ledger.

Each call asks an OpenAI-compatible endpoint for JSON matching a schema (`response_format` of type `json_schema`,
which vLLM serves with guided decoding), parses the reply and validates it with jsonschema. A reply that is not
JSON, violates the schema or is a refusal is retried (tenacity); 429 and 503 wait at least their Retry-After, and
every retry backs off exponentially; after `max_retries` the call is recorded as failed (ledger and cache), never dropped silently.
401/403/404 stop the build (EndpointError). Calls run concurrently through a bounded pool per endpoint with an
optional requests-per-second limit; every call is cached by (model, prompt version, input digest).
"""

import email.utils
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from videokr.build.cache import CachedCall, CallCache, call_key, input_digest
from videokr.build.config import EndpointConfig
from videokr.build.ledger import BudgetError, Ledger
from videokr.deps import require
from videokr.errors import VideoKRError

LOG = logging.getLogger(__name__)
FATAL_STATUSES = frozenset({401, 403, 404})


class EndpointError(VideoKRError):
    """An endpoint cannot be used at all (rejected key, unknown model or path)."""


@dataclass(frozen=True)
class CallRequest:
    """One structured call: the conversation, the schema its reply must match, and the prompt's version."""

    step: str
    prompt_version: str
    messages: Sequence[Mapping[str, Any]]
    schema: Mapping[str, Any]
    schema_name: str = "reply"
    sample: int = 0  # distinct samples of the same prompt (self-consistency) get distinct cache keys
    temperature: float | None = None  # None: the endpoint's; sampled filters ask with temperature > 0 ...
    seed: int | None = None  # ... and a seed per sample, so k samples are k different requests (vLLM, OpenAI)


@dataclass(frozen=True)
class CallResult:
    """The validated value, or the reason the call failed."""

    ok: bool
    value: Any = None
    error: str = ""
    cached: bool = False


class _RetryError(Exception):
    """One attempt failed in a way worth retrying, after waiting at least `wait` seconds."""

    def __init__(self, reason: str, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class RateLimiter:
    """At most `rate` starts per second across threads (0: unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass(frozen=True)
class RetryAfterWait:
    """tenacity wait: the `backoff` strategy (exponential), but never less than the failed attempt's Retry-After."""

    backoff: Callable[[Any], float]

    def __call__(self, state: Any) -> float:
        """Seconds to wait before the next attempt."""
        failed = state.outcome.exception() if state.outcome is not None else None
        floor = failed.wait if isinstance(failed, _RetryError) else 0.0
        return max(floor, float(self.backoff(state)))


@dataclass
class ModelClient:
    """Calls to one endpoint, bounded to `endpoint.concurrency` in flight, cached and accounted."""

    endpoint: EndpointConfig
    cache: CallCache
    ledger: Ledger
    retry_failed: bool = False
    sleep: Callable[[float], None] = time.sleep
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _limiter: RateLimiter = field(init=False, repr=False)
    _sdk: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(max(1, self.endpoint.concurrency))
        self._limiter = RateLimiter(self.endpoint.requests_per_second)

    @property
    def model(self) -> str:
        """The model name the endpoint serves."""
        return self.endpoint.model

    def key(self, request: CallRequest) -> str:
        """The cache key of `request` for this endpoint."""
        ep = self.endpoint
        payload = {
            "messages": list(request.messages),
            "schema": request.schema,
            "temperature": self._temperature(request),
            "max_tokens": ep.max_tokens,
            "sample": request.sample,
        }
        if request.seed is not None:
            payload["seed"] = request.seed
        return call_key(ep.model, request.prompt_version, input_digest(payload))

    def _temperature(self, request: CallRequest) -> float:
        return self.endpoint.temperature if request.temperature is None else request.temperature

    def call(self, request: CallRequest) -> CallResult:
        """The reply to `request`, from the cache when it was asked before."""
        key = self.key(request)
        cached = self.cache.get(key)
        if cached is not None and (cached.ok or not self.retry_failed):
            self.ledger.hit(request.step, self.endpoint.name)
            return CallResult(cached.ok, cached.value, cached.error, cached=True)
        result, usage = self._call_with_retries(request)
        self.cache.put(key, CachedCall(result.ok, result.value, result.error, *usage))
        return result

    def call_many(
        self, requests: Iterable[CallRequest], on_done: Callable[[], None] | None = None
    ) -> list[CallResult]:
        """The replies to `requests` in order, at most `concurrency` at once; BudgetError stops new calls.

        Identical requests (the same cache key) are asked once: the copies get the first one's reply, as cache hits.
        """
        items = list(requests)
        keys = [self.key(r) for r in items]
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        stop = threading.Event()

        def one(request: CallRequest) -> CallResult | BaseException:
            if stop.is_set():
                return BudgetError("stopped")
            try:
                return self.call(request)
            except (BudgetError, EndpointError) as exc:
                stop.set()
                return exc
            finally:
                if on_done is not None:
                    on_done()

        with ThreadPoolExecutor(max_workers=max(1, self.endpoint.concurrency)) as pool:
            outcomes = dict(zip(first, pool.map(one, [items[i] for i in first.values()]), strict=True))
        errors = [o for o in outcomes.values() if isinstance(o, BaseException) and str(o) != "stopped"]
        if errors:
            raise errors[0]
        results = []
        for index, (request, key) in enumerate(zip(items, keys, strict=True)):
            outcome = outcomes[key]
            if not isinstance(outcome, CallResult):
                continue
            if first[key] != index:
                self.ledger.hit(request.step, self.endpoint.name)
                outcome = CallResult(outcome.ok, outcome.value, outcome.error, cached=True)
                if on_done is not None:
                    on_done()
            results.append(outcome)
        return results

    def _call_with_retries(self, request: CallRequest) -> tuple[CallResult, tuple[int, int]]:
        tenacity = require("tenacity")
        ep, name = self.endpoint, self.endpoint.name
        tokens = [0, 0]

        def attempt() -> Any:
            self.ledger.charge(request.step, name)  # BudgetError is not retried: it stops the build
            try:
                return self._attempt(request, tokens)
            except _RetryError as retry:
                self.ledger.note(request.step, name, _reason_kind(retry.reason))
                raise

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(ep.max_retries + 1),
            wait=RetryAfterWait(
                tenacity.wait_exponential(multiplier=ep.backoff_s, max=ep.max_backoff_s)
                + tenacity.wait_random(0, 0.1 * ep.backoff_s)
            ),
            retry=tenacity.retry_if_exception_type(_RetryError),
            sleep=self.sleep,
            before_sleep=lambda state: LOG.debug(
                "%s: %s (attempt %d), retrying", name, state.outcome.exception(), state.attempt_number
            ),
            reraise=True,
        )
        try:
            value = retrying(attempt)
        except _RetryError as failed:
            LOG.warning(
                "%s call to %s failed after %d attempts: %s", request.step, name, ep.max_retries + 1, failed.reason
            )
            self.ledger.note(request.step, name, "failed", failed=True)
            return CallResult(False, error=failed.reason), (tokens[0], tokens[1])
        return CallResult(True, value), (tokens[0], tokens[1])

    def _attempt(self, request: CallRequest, tokens: list[int]) -> Any:
        openai = require("openai")
        ep = self.endpoint
        body = {
            "model": ep.model,
            "messages": list(request.messages),
            "temperature": self._temperature(request),
            "max_tokens": ep.max_tokens,
            **({} if request.seed is None else {"seed": request.seed}),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": dict(request.schema), "strict": True},
            },
        }
        with self._slots:
            self._limiter.wait()
            try:
                completion = self._client().chat.completions.create(**body)
            except openai.APIStatusError as exc:
                raise self._status_error(exc) from None
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                raise _RetryError(f"unreachable: {type(exc).__name__}") from None
            except (ValueError, TypeError, openai.APIResponseValidationError) as exc:
                raise _RetryError(f"malformed response: {exc}") from None
        return self._read(request, completion, tokens)

    def _status_error(self, exc: Any) -> Exception:
        status = int(exc.status_code)
        if status in FATAL_STATUSES:
            return EndpointError(f"endpoint {self.endpoint.name} ({self.endpoint.base_url}) refused: HTTP {status}")
        if status == 429 or status >= 500:
            return _RetryError(f"HTTP {status}", _retry_after(exc.response.headers))
        return _RetryError(f"HTTP {status}: rejected")

    def _read(self, request: CallRequest, completion: Any, tokens: list[int]) -> Any:
        usage = getattr(completion, "usage", None)
        prompt, reply = int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)
        tokens[0] += prompt
        tokens[1] += reply
        ep = self.endpoint
        cost = (prompt * ep.input_cost_per_mtok + reply * ep.output_cost_per_mtok) / 1e6
        self.ledger.spend(request.step, ep.name, prompt, reply, cost)
        try:
            message = completion.choices[0].message
        except (AttributeError, IndexError, TypeError):
            raise _RetryError("malformed response: no choices") from None
        if getattr(message, "refusal", None):
            raise _RetryError(f"refusal: {str(message.refusal)[:120]}")
        return validate_reply(message.content, request.schema)

    def _client(self) -> Any:
        if self._sdk is None:
            openai = require("openai")
            key = os.environ.get(self.endpoint.api_key_env) or "none"  # a local vLLM server needs no key
            self._sdk = openai.OpenAI(
                base_url=self.endpoint.base_url, api_key=key, timeout=self.endpoint.timeout_s, max_retries=0
            )
        return self._sdk


def validate_reply(content: Any, schema: Mapping[str, Any]) -> Any:
    """The reply's JSON value when it matches `schema`; _RetryError naming what is wrong otherwise."""
    jsonschema = require("jsonschema")
    if not isinstance(content, str) or not content.strip():
        raise _RetryError("malformed JSON: empty reply")
    try:
        value = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _RetryError(f"malformed JSON: {exc.msg} at {exc.pos}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise _RetryError(f"schema violation: {error.message[:160]} (at {where})")
    return value


def _retry_after(headers: Mapping[str, str]) -> float:
    """Seconds from a Retry-After header, given in seconds or as an HTTP date (0 when absent or unreadable).

    >>> _retry_after({"retry-after": "2"}), _retry_after({}), _retry_after({"retry-after": "Mon, 01 Jan 1990 00:00:00 GMT"})
    (2.0, 0.0, 0.0)
    """
    value = str(headers.get("retry-after", "") or "").strip()
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, when.timestamp() - time.time())


def _reason_kind(reason: str) -> str:
    """The ledger's name for a failure reason.

    >>> _reason_kind("schema violation: 3 is not a string (at answer)"), _reason_kind("HTTP 429")
    ('schema violation', 'HTTP 429')
    """
    return reason.split(":", 1)[0]


class Clients:
    """The model clients of one build, one per endpoint, sharing the cache and the ledger."""

    def __init__(
        self,
        endpoints: Sequence[EndpointConfig],
        cache: CallCache,
        ledger: Ledger,
        retry_failed: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = {e.name: ModelClient(e, cache, ledger, retry_failed, sleep) for e in endpoints}
        self.cache, self.ledger = cache, ledger

    def get(self, name: str) -> ModelClient:
        """The client of endpoint `name`."""
        if name not in self._clients:
            raise EndpointError(f"no endpoint named {name!r}; endpoints are: {', '.join(self._clients) or '-'}")
        return self._clients[name]
