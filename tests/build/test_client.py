"""The model-call layer against a stub OpenAI-compatible server on 127.0.0.1: retries, failures, cache, ledger, budget."""

import json
import threading
import time
from pathlib import Path

import pytest

from videokr.build.cache import CallCache
from videokr.build.client import CallRequest, EndpointError, ModelClient
from videokr.build.config import BudgetConfig, EndpointConfig
from videokr.build.ledger import BudgetError, Ledger
from videokr.build.stub import StubReply, StubServer, chat_reply

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
GOOD = chat_reply(json.dumps({"answer": "B"}))
BAD_REPLIES = {
    "malformed JSON": chat_reply("{not json"),
    "schema violation": chat_reply(json.dumps({"answer": 3})),
    "refusal": chat_reply(None, refusal="I cannot help with that"),
    "HTTP 429": StubReply(status=429, body={"error": "slow down"}, headers={"Retry-After": "0.3"}),
    "HTTP 503": StubReply(status=503, body={"error": "overloaded"}),
    "unreachable": StubReply(delay_s=1.0, body=GOOD.body),  # longer than the client's timeout
}


def request(text: str = "Q?", sample: int = 0) -> CallRequest:
    return CallRequest("generate", "test/v1", [{"role": "user", "content": text}], SCHEMA, "answer", sample)


def client(server: StubServer, cache: CallCache, ledger: Ledger | None = None, **kw: object) -> ModelClient:
    settings = {
        "name": "stub",
        "model": "m",
        "base_url": server.base_url,
        "max_retries": 2,
        "backoff_s": 0.01,
        "timeout_s": 0.4,
        **kw,
    }
    return ModelClient(EndpointConfig(**settings), cache, ledger or Ledger())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(BAD_REPLIES), ids=list(BAD_REPLIES))
def test_call_retries_a_bad_reply_then_succeeds(kind: str) -> None:
    replies = iter([BAD_REPLIES[kind]])
    started = time.monotonic()
    with StubServer(lambda body: next(replies, GOOD)) as server:
        c = client(server, CallCache(None))
        result = c.call(request())
    assert result.ok and result.value == {"answer": "B"}
    account = c.ledger.accounts["generate/stub"]
    assert account.requests == 2 and account.failures == 0
    assert kind.split(":")[0] in " ".join(account.reasons)
    if kind == "HTTP 429":
        assert time.monotonic() - started >= 0.3  # Retry-After honoured over the 0.01 s backoff


def test_call_that_keeps_failing_is_recorded_failed_and_not_asked_again(tmp_path: Path) -> None:
    with StubServer(lambda body: BAD_REPLIES["schema violation"]) as server:
        c = client(server, CallCache(tmp_path / "calls.jsonl"))
        result = c.call(request())
        assert not result.ok and result.error.startswith("schema violation")
        assert c.ledger.accounts["generate/stub"].failures == 1
        assert len(server.requests) == 3  # first try + max_retries 2
        again = client(server, CallCache(tmp_path / "calls.jsonl")).call(request())
        assert again.cached and not again.ok and len(server.requests) == 3
        retried = client(server, CallCache(tmp_path / "calls.jsonl"))
        retried.retry_failed = True
        retried.call(request())
        assert len(server.requests) == 6


def test_rejected_key_stops_the_build() -> None:
    with (
        StubServer(lambda body: StubReply(status=401, body={"error": "bad key"})) as server,
        pytest.raises(EndpointError, match="401"),
    ):
        client(server, CallCache(None)).call(request())


def test_second_run_makes_no_request_and_the_ledger_counts_hits(tmp_path: Path) -> None:
    with StubServer(lambda body: GOOD) as server:
        # a generous timeout: a retry after a slow reply on a loaded machine would be counted as a second request
        first = client(server, CallCache(tmp_path / "calls.jsonl"), Ledger(tmp_path / "ledger.json"), timeout_s=5)
        assert all(r.ok for r in first.call_many([request(str(i)) for i in range(20)]))
        first.ledger.save()
        assert len(server.requests) == 20
        body = server.requests[0]
        assert (
            body["response_format"]["type"] == "json_schema"
            and body["response_format"]["json_schema"]["schema"] == SCHEMA
        )
        second = client(server, CallCache(tmp_path / "calls.jsonl"), Ledger(tmp_path / "ledger.json"))
        results = second.call_many([request(str(i)) for i in range(20)])
        assert all(r.ok and r.cached for r in results) and len(server.requests) == 20
        account = second.ledger.accounts["generate/stub"]
        assert (account.requests, account.cached, account.prompt_tokens) == (20, 20, 200)


def test_budget_cap_stops_cleanly_and_a_resumed_run_pays_only_for_the_rest(tmp_path: Path) -> None:
    with StubServer(lambda body: GOOD) as server:
        capped = Ledger(tmp_path / "ledger.json", BudgetConfig(max_requests=5))
        c = client(server, CallCache(tmp_path / "calls.jsonl"), capped, concurrency=1, timeout_s=5)
        with pytest.raises(BudgetError, match="max_requests=5"):
            c.call_many([request(str(i)) for i in range(12)])
        capped.save()
        assert len(server.requests) == 5
        more = Ledger(tmp_path / "ledger.json", BudgetConfig(max_requests=100))
        results = client(server, CallCache(tmp_path / "calls.jsonl"), more, timeout_s=5).call_many(
            [request(str(i)) for i in range(12)]
        )
        assert all(r.ok for r in results) and len(server.requests) == 12


def test_concurrency_is_bounded_per_endpoint() -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    def respond(body: dict) -> StubReply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return GOOD

    with StubServer(respond) as server:
        client(server, CallCache(None), concurrency=3, timeout_s=5).call_many([request(str(i)) for i in range(12)])
    assert peak[0] == 3


def test_retry_waits_back_off_exponentially_and_never_less_than_retry_after() -> None:
    replies = iter([BAD_REPLIES["HTTP 503"]] * 3 + [StubReply(status=429, headers={"Retry-After": "2"}, body={})])
    waits: list[float] = []
    with StubServer(lambda body: next(replies, GOOD)) as server:
        c = client(server, CallCache(None), max_retries=4, backoff_s=0.01, timeout_s=5)
        c.sleep = waits.append
        assert c.call(request()).ok
    assert len(waits) == 4
    assert [round(w, 2) for w in waits[:3]] == [0.01, 0.02, 0.04]  # exponential (+ at most 10% jitter of 0.01)
    assert waits[3] >= 2.0  # the header's seconds, over the 0.08 s backoff


def test_identical_requests_in_one_batch_are_asked_once() -> None:
    with StubServer(lambda body: GOOD) as server:
        c = client(server, CallCache(None), timeout_s=5)
        results = c.call_many([request("same"), request("other"), request("same")])
    assert [r.cached for r in results] == [False, False, True] and len(server.requests) == 2
