"""verl's file-logger output folded into metrics.jsonl across launches (verl truncates its file per launch)."""

import doctest
import json

import videokr.engines.verl_metrics as verl_metrics
from videokr.engines.verl_metrics import METRICS, RAW_METRICS, collect_metrics, summarize
from videokr.io import read_jsonl


def test_module_doctests_pass():
    result = doctest.testmod(verl_metrics)
    assert result.attempted > 0 and result.failed == 0


def _launch(stage, steps):
    lines = [
        {"step": s, "data": {"critic/score/mean": s / 10, "timing_s/gen": 1.5, "num_turns/mean": 2}} for s in steps
    ]
    (stage / RAW_METRICS).write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_collect_metrics_keeps_earlier_launches_and_replaces_rerun_steps(tmp_path):
    _launch(tmp_path, [1, 2])
    collect_metrics(tmp_path)
    _launch(tmp_path, [2, 3])  # a resumed launch that redid step 2
    (tmp_path / RAW_METRICS).write_text(
        (tmp_path / RAW_METRICS).read_text().replace('"critic/score/mean": 0.2', '"critic/score/mean": 0.25')
    )
    rows = collect_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert rows[1]["critic/score/mean"] == 0.25
    assert list(read_jsonl(tmp_path / METRICS)) == rows
    assert summarize(rows) == {"steps": 3, "reward_first": 0.1, "reward_last": 0.3}


def test_collect_metrics_ignores_torn_last_line_and_missing_file(tmp_path):
    assert collect_metrics(tmp_path) == []
    assert not (tmp_path / METRICS).exists()
    _launch(tmp_path, [1])
    with open(tmp_path / RAW_METRICS, "a") as handle:
        handle.write('{"step": 2, "da')
    assert [r["step"] for r in collect_metrics(tmp_path)] == [1]
