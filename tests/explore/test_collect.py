"""Collecting a run directory into page data, writing the site, the CLI and the --serve endpoints (no browser)."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from videokr.explore import write_explorer
from videokr.explore.collect import collect_run
from videokr.explore.frames import extract_frames
from videokr.explore.review import read_verdicts, verdicts_path
from videokr.explore.server import make_server


def load_data(site):
    text = (site / "data.js").read_text()
    prefix = "window.VIDEOKR_DATA = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


def test_collect_run_has_one_sample_per_eval_row_with_every_checkpoint(known_run, tmp_path):
    data = collect_run(known_run.run_dir, tmp_path / "site")
    assert [m["name"] for m in data["models"]] == list(known_run.scores)
    assert [s["id"] for s in data["samples"]] == [row["problem_id"] for row in known_run.rows]
    for index, sample in enumerate(data["samples"]):
        assert set(sample["results"]) == set(known_run.scores)
        for model in known_run.scores:
            scored = known_run.scores[model][index]
            result = sample["results"][model]
            assert (result["correct"], result["extracted"], result["reason"]) == (
                scored["correct"],
                scored["extracted"],
                scored["reason"],
            )
        assert sample["video"]["src"] and (tmp_path / "site" / sample["video"]["src"]).resolve().is_file()
    assert [s["name"] for s in data["stages"]] == [
        "prepare-sft",
        "sft",
        "prepare-rl",
        "grpo",
        "merge",
        "eval",
        "report",
    ]
    assert all(s["status"] == "done" for s in data["stages"])
    assert data["metrics"]["grpo"]["n"] == len(known_run.rows)
    assert "plots/grpo_training.png" in data["plots"]


def test_write_explorer_writes_the_three_pages_and_data_js(known_run, tmp_path):
    index = write_explorer(known_run.run_dir, tmp_path / "site")
    site = index.parent
    for name in ("index.html", "samples.html", "review.html", "explorer.css", "common.js", "samples.js"):
        assert (site / name).is_file(), name
    assert len(load_data(site)["samples"]) == len(known_run.rows)
    html = (site / "samples.html").read_text()
    assert "http://" not in html and "https://" not in html  # no CDN: the site opens offline


def test_collect_run_says_when_a_video_is_not_reachable(known_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("manifest.json", "eval"):
        target = known_run.run_dir / name
        (run / name).symlink_to(target, target_is_directory=target.is_dir())
    (run / "config.yaml").write_text("eval:\n  video_root: /nowhere/at/all\n")
    sample = collect_run(run, tmp_path / "site")["samples"][0]
    assert sample["video"]["src"] is None and sample["video"]["path"].startswith("/nowhere/at/all/")


def test_collect_run_extracts_frames_into_the_site(known_run, tmp_path):
    site = tmp_path / "site"
    video = collect_run(known_run.run_dir, site, frames=3)["samples"][0]["video"]
    assert len(video["frames"]) == 3
    assert all((site / f).read_bytes()[:2] == b"\xff\xd8" for f in video["frames"])  # JPEG


def test_extract_frames_of_a_broken_file_gives_none(broken_videos, tmp_path):
    assert extract_frames(broken_videos["not_a_video"], tmp_path, 3) == []


@pytest.fixture
def server(known_run, tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps({"review_id": "r1", "step": "qc", "model": "m", "item": {"q": 1}}) + "\n")
    site = write_explorer(known_run.run_dir, known_run.run_dir / "explorer").parent
    srv = make_server(site, run_dir=known_run.run_dir, port=0, review=export)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, export
    srv.shutdown()
    srv.server_close()


def post(url, payload):
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_binds_localhost_and_saves_valid_verdicts_only(server):
    srv, export = server
    assert srv.server_address[0] == "127.0.0.1"
    base = srv.url.split("/explorer/")[0]
    with urllib.request.urlopen(base + "/api/review") as response:
        assert json.loads(response.read())["items"][0]["review_id"] == "r1"
    assert post(base + "/api/verdicts", {"review_id": "r1", "verdict": "maybe"})[0] == 400
    status, reply = post(base + "/api/verdicts", {"review_id": "nope", "verdict": "accept"})
    assert status == 400 and "not in export.jsonl" in reply["error"]
    assert not verdicts_path(export).exists()
    assert post(base + "/api/verdicts", {"review_id": "r1", "verdict": "reject"}) == (
        200,
        {"saved": 1, "decided": 1, "file": str(verdicts_path(export))},
    )
    assert [v.verdict for v in read_verdicts(verdicts_path(export))] == ["reject"]
    with urllib.request.urlopen(base + "/sft/command.sh") as response:  # the run page's links resolve
        assert b"echo sft" in response.read()
