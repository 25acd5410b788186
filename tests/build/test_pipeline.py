"""The whole build: the offline demo, bad input, every model step against a stub endpoint, review and selection,
and the youtube source replayed from a recorded metadata fixture (no network)."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from videokr.build.bank import read_bank, read_seeds
from videokr.build.demo import run_build_demo, write_demo_inputs
from videokr.build.sources import collect_catalog
from videokr.build.stages import run_build
from videokr.build.stub import StubReply, StubServer, chat_reply, schema_of
from videokr.cli import main
from videokr.data.validate import validate_file
from videokr.explore.review import check_verdicts
from videokr.io import read_jsonl, write_jsonl


def test_demo_build_removes_the_planted_items_and_writes_valid_files(tmp_path: Path) -> None:
    result = run_build_demo(tmp_path / "demo")
    report = json.loads((tmp_path / "demo" / "qc" / "report.json").read_text())
    assert report["planted"] == 6 and report["planted_kept"] == 0
    assert report["filters"]["video-dependency-text"]["planted_caught"] == 4
    assert report["filters"]["rationale"]["dropped"] == 2
    dropped = list(read_jsonl(tmp_path / "demo" / "qc" / "dropped.video-dependency-text.jsonl"))
    assert all("question text alone" in d["reason"] for d in dropped)
    for name in ("sft", "rl"):
        assert validate_file(result.outputs["split"][f"{name}_file"], progress=False).ok
    sft_videos = {r["video_path"] for r in read_jsonl(tmp_path / "demo" / "split" / "sft.jsonl")}
    rl_videos = {r["video_path"] for r in read_jsonl(tmp_path / "demo" / "split" / "rl.jsonl")}
    assert sft_videos and rl_videos and not sft_videos & rl_videos
    assert all("think" in r for r in read_jsonl(tmp_path / "demo" / "split" / "sft.jsonl"))
    assert "planted" in (tmp_path / "demo" / "report.md").read_text()
    again = run_build_demo(tmp_path / "demo")
    assert again.ran == () and len(again.skipped) == 8


def test_bad_inputs_are_reported_by_file_line_and_reason_and_the_rest_is_kept(tmp_path: Path) -> None:
    point = {"id": "p1", "subject": "Chem", "course": "C1", "lecture": "L1", "name": "n", "definition": "d"}
    bank = tmp_path / "bank.jsonl"
    lines = [
        point,
        {**point, "definition": "again"},
        {**point, "id": "p2", "definition": " "},
        {**point, "id": "p3", "course": ""},
        {**point, "id": "p4", "course": "C2", "lecture": "L2"},
        {**point, "id": "p5", "subject": "Bio"},
    ]
    bank.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    points, issues = read_bank(bank)
    assert [p["id"] for p in points] == ["p1", "p4"]
    reasons = {i.line: i.reason for i in issues}
    assert reasons[2] == "duplicate id 'p1' (first on line 1)" and reasons[3] == "empty definition"
    assert "broken nesting" in reasons[4] and "broken nesting" in reasons[6] and "not JSON" in reasons[7]
    assert all(i.path == str(bank) for i in issues)
    seeds = tmp_path / "seeds.jsonl"
    write_jsonl(
        seeds,
        [
            {"id": "s1", "skill": "VidR", "question": "q", "answer": "a"},
            {"id": "s2", "skill": "Vision", "question": "q", "answer": "a"},
        ],
    )
    good, bad = read_seeds(seeds)
    assert [s["id"] for s in good] == ["s1"] and "unknown skill 'Vision'" in str(bad[0]) and bad[0].line == 2
    inputs = write_demo_inputs(tmp_path / "in")
    rows, problems, _ = collect_catalog(inputs.catalog)
    assert len(rows) == 6 and problems[0].line == 7 and "no licence" in problems[0].reason


def _stub(body: dict[str, Any]) -> StubReply:
    """Answers each step's schema like a plausible model: a solver that cannot see guesses wrong."""
    name, _ = schema_of(body)
    content = body["messages"][0]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    value: Any
    if name == "scenarios":
        value = {"scenarios": [{"scenario": "a flame test in a lab", "keywords": ["flame test"]}]}
    elif name == "relevance":
        value = {"relevant": True, "score": 0.9, "reason": "shows a flame"}
    elif name == "items":
        value = {
            "items": [
                {
                    "question": "What colour is the flame?",
                    "problem_type": "multiple choice",
                    "options": ["A. red", "B. green", "C. violet", "D. white"],
                    "answer": "A",
                    "think": "The flame is red.",
                }
            ]
        }
    elif name == "answer":
        value = {"answer": "D" if "cannot see the video" in text else "A"}
    else:
        value = {"valid": True, "reason": "reaches the answer"}
    return chat_reply(json.dumps(value))


def _stub_overrides(tmp_path: Path, server: StubServer) -> list[str]:
    inputs = write_demo_inputs(tmp_path / "in") if not (tmp_path / "in").exists() else None
    root = tmp_path / "in"
    endpoint = {"name": "stub", "model": "stub-vl", "base_url": server.base_url, "backoff_s": 0.01, "concurrency": 4}
    second = {**endpoint, "name": "stub2", "model": "stub-vl-2"}
    del inputs
    return [
        f"output_dir={tmp_path / 'run'}",
        f"inputs.bank={root / 'bank.jsonl'}",
        f"inputs.seeds={root / 'seeds.jsonl'}",
        f"collect.catalog={root / 'catalog.jsonl'}",
        f"endpoints=[{json.dumps(endpoint)}, {json.dumps(second)}]",
        "scenarios.models=[stub]",
        "relevance.models=[stub]",
        "generate.models=[stub, stub2]",
        "generate.skills=[VidR]",
        "qc.solver=stub",
        "qc.rationale_judge=stub",
        "qc.self_consistency.samples=2",
        "frames.max_frames=2",
    ]


def test_every_model_step_runs_against_the_stub_and_a_second_run_makes_no_request(tmp_path: Path) -> None:
    with StubServer(_stub) as server:
        overrides = _stub_overrides(tmp_path, server)
        result = run_build("build-demo", overrides)
        sent = len(server.requests)
        assert sent > 0 and result.outputs["split"]["sft"] + result.outputs["split"]["rl"] == 6
        images = [b for b in server.requests if isinstance(b["messages"][0]["content"], list)]
        assert images and images[0]["messages"][0]["content"][1]["image_url"]["url"].startswith(
            "data:image/jpeg;base64,"
        )
        ledger = json.loads((tmp_path / "run" / "ledger.json").read_text())
        assert {"scenarios/stub", "relevance/stub", "generate/stub", "generate/stub2", "qc/stub"} <= set(
            ledger["accounts"]
        )
        assert ledger["totals"]["requests"] == sent and ledger["totals"]["failures"] == 0
        sampled = [b for b in server.requests if "seed" in b]  # self-consistency: k=2 different requests per item
        seeds: dict[str, set[int]] = {}
        for body in sampled:
            seeds.setdefault(json.dumps(body["messages"], sort_keys=True), set()).add(body["seed"])
        assert len(sampled) == 2 * len(seeds) and all(s == {0, 1} for s in seeds.values())
        assert {b["temperature"] for b in sampled} == {0.7}
        again = run_build("build-demo", overrides, start="scenarios")  # every model stage runs again ...
        assert len(again.ran) == 7 and len(server.requests) == sent  # ... and nothing is asked twice


def test_review_export_import_select_and_rejected_items_never_reenter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubServer(_stub) as server:
        overrides = _stub_overrides(tmp_path, server)
        run_build("build-demo", overrides)
        run = tmp_path / "run"
        assert main(["build", "review", "export", str(run), "--step", "generate", "--sample", "4"]) == 0
        exported = list(read_jsonl(run / "review" / "generate.review.jsonl"))
        assert {e["model"] for e in exported} == {"stub", "stub2"} and len(exported) == 8
        verdicts = []
        for e in exported:
            reject = e["model"] == "stub" and e is exported[0]
            verdicts.append(
                {"review_id": e["review_id"], "verdict": "reject" if e["model"] == "stub2" or reject else "accept"}
            )
        verdicts.append({"review_id": "generate/stub/nope", "verdict": "accept"})
        verdicts.append({"review_id": exported[1]["review_id"], "verdict": "maybe"})
        write_jsonl(tmp_path / "verdicts.jsonl", verdicts)
        assert len(check_verdicts(tmp_path / "verdicts.jsonl")[1]) == 1
        assert main(["build", "review", "import", str(run), str(tmp_path / "verdicts.jsonl")]) == 0
        refused = capsys.readouterr().err
        assert f"verdicts.jsonl:{len(exported) + 1}: review_id 'generate/stub/nope' was never exported" in refused
        assert f"verdicts.jsonl:{len(exported) + 2}: verdict must be one of" in refused
        assert main(["build", "select", str(run), "review.bar=0.7"]) == 0
        selection = json.loads((run / "review" / "selection.json").read_text())  # the provenance record
        assert selection["generate"]["model"] == "stub" and selection["generate"]["models"]["stub2"]["share"] == 0
        assert selection["generate"]["models"]["stub"] == {"decided": 4, "accepted": 3, "share": 0.75}
        recipe = yaml.safe_load((run / "config.yaml").read_text())  # the choice is part of the recipe
        assert recipe["selected"] == {"generate": "stub"}
        rejected = exported[0]["item"]["item_id"]
        result = run_build(run)  # the run's recipe alone reproduces the build with the selection
        assert "generate" in result.ran and "bank" in result.skipped
        candidates = [i["item_id"] for i in read_jsonl(run / "generate" / "candidates.jsonl")]
        assert rejected not in candidates and len(candidates) == 5
        split = [r["problem_id"] for f in ("sft", "rl") for r in read_jsonl(run / "split" / f"{f}.jsonl")]
        assert rejected not in split


def test_youtube_source_plans_searches_and_keeps_only_creative_commons_from_a_recorded_fixture(tmp_path: Path) -> None:
    inputs = write_demo_inputs(tmp_path / "in")
    query = "ytsearch5:Flame test of lithium Chemistry creative commons"
    entries = [
        {
            "id": "cc1",
            "title": "Lithium flame test",
            "license": "Creative Commons Attribution license (reuse allowed)",
            "duration": 61,
            "webpage_url": "https://www.youtube.com/watch?v=cc1",
        },
        {"id": "std1", "title": "Flame tests", "license": None, "duration": 120},
        {
            "id": "cc2",
            "title": "Too short",
            "license": "Creative Commons Attribution license (reuse allowed)",
            "duration": 5,
        },
    ]
    fixture = tmp_path / "metadata.json"
    fixture.write_text(json.dumps({query: entries}))
    overrides = [
        f"output_dir={tmp_path / 'run'}",
        f"inputs.bank={inputs.bank}",
        "collect.source=youtube",
        f"collect.youtube.metadata_file={fixture}",
    ]
    assert main(["build", "collect", "build-demo", *overrides, "--dry-run"]) == 0
    run_build("build-demo", overrides, until="collect")
    plan = json.loads((tmp_path / "run" / "collect" / "plan.json").read_text())
    assert query in [p["query"] for p in plan] and len(plan) == 6
    videos = list(read_jsonl(tmp_path / "run" / "collect" / "videos.jsonl"))
    assert [(v["source_id"], v["licence"][:16]) for v in videos] == [("cc1", "Creative Commons")]
    assert videos[0]["knowledge_id"] == "flame-lithium"
    reasons = {d["source_id"]: d["reason"] for d in read_jsonl(tmp_path / "run" / "collect" / "dropped.jsonl")}
    assert "not creative commons" in reasons["std1"] and "duration 5" in reasons["cc2"]


def test_a_build_stopped_by_its_budget_resumes_without_asking_anything_twice(tmp_path: Path) -> None:
    from videokr.run.graph import StageError

    with StubServer(_stub) as server:
        overrides = _stub_overrides(tmp_path, server)
        with pytest.raises(StageError, match="budget cap reached"):
            run_build("build-demo", [*overrides, "budget.max_requests=15"])
        manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
        failed = [name for name, entry in manifest["stages"].items() if entry["status"] == "failed"]
        assert len(failed) == 1 and len(server.requests) == 15
        bodies = [json.dumps(b, sort_keys=True) for b in server.requests]
        result = run_build("build-demo", overrides)
        assert failed[0] in result.ran and "bank" in result.skipped
        later = [json.dumps(b, sort_keys=True) for b in server.requests[15:]]
        assert not set(bodies) & set(later)  # nothing answered before the stop was asked again


def test_the_optional_decontaminate_stage_runs_when_benchmarks_are_listed_and_feeds_the_split(tmp_path: Path) -> None:
    inputs = write_demo_inputs(tmp_path / "demo" / "inputs")
    bench = tmp_path / "bench.jsonl"
    write_jsonl(
        bench, [{"problem_id": "b1", "question": "What burns?", "solution": "x", "video_path": "clips/red_000.mp4"}]
    )
    benchmark = json.dumps({"rows": str(bench), "video_root": str(inputs.bank.parent)})
    result = run_build_demo(tmp_path / "demo", [f"decontaminate.benchmarks=[{benchmark}]"])
    outputs = result.outputs["decontaminate"]
    assert "decontaminate" in result.ran and {"kept", "contaminated", "by_reason", "report"} <= set(outputs)
    split = [r for f in ("sft", "rl") for r in read_jsonl(tmp_path / "demo" / "split" / f"{f}.jsonl")]
    assert len(split) == outputs["kept"]  # the split reads decontaminate/kept.jsonl


def test_record_selection_replaces_the_selected_block_keeps_comments_and_the_recipe_still_loads(
    tmp_path: Path,
) -> None:
    from videokr.build.config import load_build
    from videokr.build.review import record_selection
    from videokr.errors import ConfigError

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "# my build\nname: b  # keep me\nselected:\n  scenarios: template\n\ngenerate:\n  models: [template]\n"
    )
    picked = {"generate": {"model": "template"}, "relevance": {"model": None}}
    assert record_selection(recipe, picked) == {"scenarios": "template", "generate": "template"}
    text = recipe.read_text()
    assert "# my build" in text and "# keep me" in text and text.count("selected:") == 1
    config = load_build(recipe)
    assert (config.selected.scenarios, config.selected.generate, config.generate.models) == (
        "template",
        "template",
        ("template",),
    )
    with pytest.raises(ConfigError, match=r"selected\.generate: 'gpt' is not a candidate"):
        load_build(recipe, ["selected.generate=gpt"])


def _write_recipe(path: Path, overrides: list[str]) -> Path:
    from videokr.build.config import load_build
    from videokr.config import to_yaml

    path.write_text(to_yaml(load_build("build-demo", overrides)))
    return path


def _outputs(run: Path) -> dict[str, str]:
    files = ("generate/candidates.jsonl", "qc/kept.jsonl", "qc/dropped.jsonl", "split/sft.jsonl", "split/rl.jsonl")
    return {name: (run / name).read_text() for name in files}


def test_a_killed_build_resumes_asking_only_what_was_not_cached_and_ends_as_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys
    import time

    with StubServer(_stub) as fast:  # the uninterrupted reference
        run_build("build-demo", _stub_overrides(tmp_path / "ref", fast))
        total = len(fast.requests)
    with StubServer(lambda body: StubReply(**{**_stub(body).__dict__, "delay_s": 0.05})) as slow:
        recipe = _write_recipe(tmp_path / "recipe.yaml", _stub_overrides(tmp_path, slow))
        cache = tmp_path / "run" / "cache" / "calls.jsonl"
        argv = [sys.executable, "-c", "import sys; from videokr.cli import main; sys.exit(main(sys.argv[1:]))"]
        proc = subprocess.Popen([*argv, "build", str(recipe)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not (cache.is_file() and len(cache.read_text().splitlines()) >= total // 3):
            assert proc.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cached = len({e["key"] for e in read_jsonl(cache)})
        assert 0 < cached < total
        before = len(slow.requests)
        assert subprocess.run([*argv, "build", str(recipe)], capture_output=True).returncode == 0
        resumed = [json.dumps(b, sort_keys=True) for b in slow.requests[before:]]
    assert len(resumed) == total - cached and len(set(resumed)) == len(resumed)
    assert _outputs(tmp_path / "run") == _outputs(tmp_path / "ref" / "run")
