import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from videokr.scoring import JudgeError, OpenAIJudge, make_judge, parse_judge_spec, score_prediction
from videokr.scoring.cache import VerdictCache, cache_key

MC_ROW = {
    "problem_id": "q1",
    "problem_type": "multiple choice",
    "question": "Which element?",
    "options": ["A. Potassium", "B. Sodium"],
    "solution": "B",
}
OE_ROW = {"problem_id": "q2", "problem_type": "open-ended", "question": "Which element?", "solution": "sodium"}


def _judge(stub, model, **kwargs):
    kwargs = {"max_retries": 2, "backoff_s": 0.01, "timeout_s": 5.0, **kwargs}
    return OpenAIJudge(model=model, base_url=stub.base_url, **kwargs)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("openai:gpt-4o", ("openai", "gpt-4o"), id="hosted"),
        pytest.param("openai:Qwen/Qwen2.5-72B-Instruct", ("openai", "Qwen/Qwen2.5-72B-Instruct"), id="slash"),
        pytest.param("openai:qwen2.5:7b", ("openai", "qwen2.5:7b"), id="colon-in-model"),
    ],
)
def test_parse_judge_spec_accepts_openai_models(spec, expected):
    assert parse_judge_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpt-4o", "openai:", "anthropic:claude", ":x"])
def test_parse_judge_spec_rejects_bad_specs(spec):
    with pytest.raises(JudgeError):
        parse_judge_spec(spec)


@pytest.mark.parametrize(
    ("row", "prediction", "correct"),
    [
        pytest.param(MC_ROW, "<answer>B</answer>", True, id="mc-right"),
        pytest.param(MC_ROW, "<answer>A</answer>", False, id="mc-wrong"),
        pytest.param(OE_ROW, "<think>yellow</think><answer>Sodium</answer>", True, id="oe-right"),
        pytest.param(OE_ROW, "<answer>potassium</answer>", False, id="oe-wrong"),
    ],
)
def test_good_judge_decides_both_question_types(stub_server, row, prediction, correct):
    result = score_prediction(row, prediction, judge=_judge(stub_server, "good"))
    assert (result.correct, result.mode) == (correct, "judge")
    body = stub_server.state.bodies[-1]
    assert (body["temperature"], body["max_tokens"]) == (0.0, 256)
    strict = "Be strict" in body["messages"][0]["content"]
    assert strict is (row is MC_ROW)


def test_chatty_reply_with_one_digit_is_read(stub_server):
    assert score_prediction(OE_ROW, "sodium", judge=_judge(stub_server, "chatty")).correct is True


@pytest.mark.parametrize(
    ("model", "kwargs", "requests"),
    [
        pytest.param("malformed", {}, 3, id="malformed-body"),
        pytest.param("nocontent", {}, 3, id="no-choices"),
        pytest.param("broken", {}, 3, id="500-forever"),
        pytest.param("slow", {"timeout_s": 0.2, "max_retries": 1}, 2, id="timeout"),
        pytest.param("unknown-model-400", {}, 1, id="400-not-retried"),
    ],
)
def test_failing_judge_gives_no_verdict_never_wrong(stub_server, model, kwargs, requests):
    judge = _judge(stub_server, model, **kwargs)
    result = score_prediction(OE_ROW, "sodium", judge=judge)
    assert result.correct is None and result.judge_failed and not result.skipped
    assert judge.requests_made == requests
    assert len(judge.cache) == 0  # failures are not cached: a re-run retries them


def test_rate_limited_judge_retries_then_succeeds(stub_server):
    judge = _judge(stub_server, "ratelimited")
    assert score_prediction(MC_ROW, "B", judge=judge).correct is True
    assert judge.requests_made == 2


def test_unreachable_endpoint_fails_row_after_retries(free_port):
    port = free_port()
    judge = OpenAIJudge(model="good", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_s=0.01)
    assert score_prediction(OE_ROW, "sodium", judge=judge).judge_failed


def test_rejected_key_stops_the_run(stub_server):
    with pytest.raises(JudgeError, match="HTTP 401"):
        score_prediction(OE_ROW, "sodium", judge=_judge(stub_server, "unauthorized"))


def test_api_key_is_sent_but_never_cached_or_logged(stub_server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", stub_server.base_url)
    caplog.set_level(logging.DEBUG)
    judge = make_judge("openai:good", cache_path=tmp_path / "cache.jsonl", max_retries=0)
    assert score_prediction(OE_ROW, "sodium", judge=judge).correct is True
    assert stub_server.state.auth_headers == ["Bearer sk-secret-123"]
    assert "sk-secret" not in (tmp_path / "cache.jsonl").read_text()
    assert "sk-secret" not in repr(judge) and "sk-secret" not in caplog.text
    broken = make_judge("openai:broken", max_retries=1, backoff_s=0.01)
    score_prediction(OE_ROW, "sodium", judge=broken)
    assert "sk-secret" not in caplog.text


def test_verdict_cache_survives_restart_and_torn_last_line(stub_server, tmp_path):
    path = tmp_path / "cache.jsonl"
    first = _judge(stub_server, "good", cache=VerdictCache(path))
    for answer in ("sodium", "potassium"):
        score_prediction(OE_ROW, answer, judge=first)
    assert first.requests_made == 2 and len(path.read_text().splitlines()) == 2
    with path.open("a") as handle:
        handle.write('{"key": "torn')  # a run killed mid-write
    second = _judge(stub_server, "good", cache=VerdictCache(path))
    results = [score_prediction(OE_ROW, answer, judge=second).correct for answer in ("sodium", "potassium", "na")]
    assert results == [True, False, False]
    assert second.requests_made == 1  # only the new question


def test_cache_key_depends_on_model_messages_and_temperature():
    messages = [{"role": "user", "content": "q"}]
    keys = {
        cache_key("m", messages, 0.0),
        cache_key("m2", messages, 0.0),
        cache_key("m", messages, 1.0),
        cache_key("m", [{"role": "user", "content": "q2"}], 0.0),
    }
    assert len(keys) == 4


def test_concurrency_runs_requests_in_parallel_and_is_bounded(stub_server):
    judge = _judge(stub_server, "slow", concurrency=2)
    rows = [dict(OE_ROW, solution=f"answer {i}") for i in range(4)]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda row: score_prediction(row, "x", judge=judge), rows))
    elapsed = time.monotonic() - start
    assert all(r.correct is False for r in results)
    assert 1.9 < elapsed < 3.5  # 4 one-second requests, two at a time


def test_compat_judge_reads_any_reply_containing_one(stub_server):
    judge = _judge(stub_server, "chatty")
    result = score_prediction(OE_ROW, "potassium", judge=judge, style="compat")
    assert result.correct is False  # "The verdict is 0." has no "1"
    body = json.dumps(stub_server.state.bodies[-1])
    assert "potassium" in body
