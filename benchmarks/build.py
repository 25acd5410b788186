"""Benchmark the build's model-call layer: requests per second against a local stub endpoint, and the time to
replay 10,000 cached calls (a re-run of a finished build).

Run: .venv/bin/python benchmarks/build.py [--calls 10000] [--live 400] [--concurrency 8]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from videokr.build.cache import CallCache
from videokr.build.client import CallRequest, ModelClient
from videokr.build.config import EndpointConfig
from videokr.build.ledger import Ledger
from videokr.build.stub import StubServer, chat_reply

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
REPLY = chat_reply(json.dumps({"answer": "A"}))


def requests(n: int, offset: int = 0) -> list[CallRequest]:
    """`n` distinct one-message calls."""
    return [
        CallRequest("bench", "bench/v1", [{"role": "user", "content": f"question {offset + i}"}], SCHEMA, "answer")
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000, help="cached calls to replay")
    parser.add_argument("--live", type=int, default=400, help="calls sent to the stub")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StubServer(lambda body: REPLY) as server:
        path = Path(tmp) / "calls.jsonl"
        endpoint = EndpointConfig(name="stub", model="stub", base_url=server.base_url, concurrency=args.concurrency)
        client = ModelClient(endpoint, CallCache(path), Ledger())
        client.call(requests(1, 10**9)[0])  # load the SDK and open the connection pool outside the timing
        started = time.perf_counter()
        client.call_many(requests(args.live))
        live = time.perf_counter() - started
        print(
            f"live: {args.live} calls to the stub in {live:.2f} s = {args.live / live:.0f} requests/s (concurrency {args.concurrency})"
        )
        rest = requests(
            args.calls - args.live, args.live
        )  # the rest of a finished build's answers, written as it would
        lines = path.read_text().splitlines()
        template = json.loads(lines[-1])
        with open(path, "a", encoding="utf-8") as handle:
            for request in rest:
                handle.write(json.dumps({**template, "key": client.key(request)}) + "\n")
        started = time.perf_counter()
        replay = ModelClient(endpoint, CallCache(path), Ledger())
        results = replay.call_many(requests(args.calls))
        elapsed = time.perf_counter() - started
        sent = len(server.requests)
        assert all(r.cached for r in results), "a replayed call was sent"
        print(
            f"replay: {args.calls} cached calls (cache load included) in {elapsed:.2f} s, {sent - args.live - 1} new requests"
        )


if __name__ == "__main__":
    main()
