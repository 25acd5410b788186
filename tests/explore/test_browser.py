"""The explorer's pages in a real headless Chromium: no console error, cards match the rows, filters and flips
count right on the known run, 10,000 rows stay fast, review verdicts round-trip; a screenshot of each page."""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from videokr.explore import read_verdicts, write_explorer, write_site
from videokr.explore.review import verdicts_path
from videokr.explore.server import make_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(known_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The known run's explorer, written inside the run directory as `videokr run` writes it."""
    return write_explorer(known_run.run_dir).parent


PLAY_FIRST_VIDEO = """() => new Promise((resolve) => {
  const video = document.querySelector("article[data-sample-id] video");
  video.addEventListener("loadeddata", () => resolve(video.videoWidth));
  video.addEventListener("error", () => resolve("error " + (video.error && video.error.message)));
  video.preload = "auto";
  video.load();
})"""


def count(page: Any, attribute: str) -> int:
    return int(page.get_attribute("#counts", f"data-{attribute}"))


def test_run_page_shows_every_stage_and_checkpoint_without_console_errors(site, known_run, open_page):
    opened = open_page((site / "index.html").as_uri())
    page = opened.page
    stages = page.locator("#stages tr[data-stage]")
    assert stages.count() == 7
    assert page.locator("#stages tr[data-stage='eval'] .status-done").count() == 1
    header = page.locator("#metrics-overall th").all_inner_texts()
    assert header == ["group", *known_run.scores]
    assert page.locator("#metrics-by_skill tr").count() == 4  # header + VidR, KnowVid, KnowVidR
    assert page.locator(".plots img").count() >= 2  # accuracy plots + the GRPO training curves
    assert page.evaluate("Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")
    link = page.locator("#stages tr[data-stage='sft'] a", has_text="command.sh").get_attribute("href")
    assert (site / link).resolve() == known_run.run_dir / "sft" / "command.sh"
    opened.screenshot("run")
    assert opened.errors == []


def test_samples_page_cards_match_rows_and_filters_give_known_counts(site, known_run, open_page):
    opened = open_page((site / "samples.html").as_uri())
    page = opened.page
    ids = [row["problem_id"] for row in known_run.rows]
    assert page.locator("article[data-sample-id]").count() == len(ids)
    assert [c.get_attribute("data-sample-id") for c in page.locator("article[data-sample-id]").all()] == ids
    first = page.locator(f"article[data-sample-id='{ids[0]}']")
    assert first.locator(".result").count() == len(known_run.scores)
    assert first.locator("video").count() == 1
    width = page.evaluate(PLAY_FIRST_VIDEO)  # the linked clip really decodes in the browser (H.264 mp4)
    assert width == 64, width
    opened.screenshot("samples")

    sft, grpo = known_run.verdicts("sft"), known_run.verdicts("grpo")
    newly_right = sum(a is False and b is True for a, b in zip(sft, grpo, strict=True))
    newly_wrong = sum(a is True and b is False for a, b in zip(sft, grpo, strict=True))
    page.select_option("#f-flip-a", "sft")
    page.select_option("#f-flip-b", "grpo")
    assert (count(page, "newly-right"), count(page, "newly-wrong")) == (newly_right, newly_wrong)
    page.select_option("#f-flip", "newly-right")
    assert count(page, "shown") == newly_right == page.locator("article[data-sample-id]").count()

    page.select_option("#f-flip", "")
    page.select_option("#f-verdict-model", "base")
    for verdict, value in (("right", True), ("wrong", False), ("unscored", None)):
        page.select_option("#f-verdict", verdict)
        assert count(page, "shown") == sum(v is value for v in known_run.verdicts("base")), verdict
    page.select_option("#f-verdict", "")

    page.select_option("#f-skill", "KnowVid")
    assert count(page, "shown") == sum(row["skill"] == "KnowVid" for row in known_run.rows)
    page.select_option("#f-type", "open-ended")
    expected = sum(row["skill"] == "KnowVid" and row["problem_type"] == "open-ended" for row in known_run.rows)
    assert count(page, "shown") == expected
    page.select_option("#f-skill", "")
    page.select_option("#f-type", "")
    page.fill("#f-search", "cannot tell")  # the one unparseable sft output
    page.wait_for_function("document.querySelectorAll('article[data-sample-id]').length === 1")
    assert count(page, "shown") == 1
    assert opened.errors == []


def synthetic_rows(n: int) -> dict[str, Any]:
    """Page data of `n` rows and three checkpoints, shaped as collect_run writes it."""
    models = ["base", "sft", "grpo"]
    samples = []
    for i in range(n):
        results = {
            m: {
                "prediction": f"<think>step {i}</think><answer>{'AB'[(i + k) % 2]}</answer>",
                "extracted": "AB"[(i + k) % 2],
                "correct": (i + k) % 3 != 0,
                "mode": "rule",
                "reason": "predicted A, answer A",
            }
            for k, m in enumerate(models)
        }
        samples.append(
            {
                "id": f"row-{i:05d}",
                "question": f"Question number {i}?",
                "options": ["A. one", "B. two"],
                "answer": "A",
                "problem_type": "multiple choice",
                "skill": ["VidR", "KnowVid"][i % 2],
                "subject": "Chemistry",
                "dataset": "synthetic",
                "video": {"path": f"/nowhere/{i}.mp4", "src": None, "frames": []},
                "results": results,
            }
        )
    return {
        "run": {"name": "synthetic", "dir": "/nowhere", "written": "now"},
        "stages": [],
        "models": [{"name": m, "path": None} for m in models],
        "metrics": {},
        "plots": [],
        "samples": samples,
    }


def test_samples_page_loads_and_filters_10000_rows_quickly(tmp_path, open_page):
    write_site(synthetic_rows(10_000), tmp_path)
    started = time.monotonic()
    opened = open_page((tmp_path / "samples.html").as_uri())
    page = opened.page
    page.wait_for_selector("article[data-sample-id]")
    loaded = time.monotonic() - started
    assert count(page, "shown") == 10_000
    assert page.locator("article[data-sample-id]").count() < 200  # rendered lazily, a page at a time
    started = time.monotonic()
    page.select_option("#f-skill", "KnowVid")
    page.select_option("#f-flip-a", "base")
    page.select_option("#f-flip-b", "sft")
    page.select_option("#f-flip", "newly-right")
    page.fill("#f-search", "question number 1")
    page.wait_for_timeout(200)  # the search input is debounced by 150 ms
    filtered = time.monotonic() - started
    # base (k=0) wrong and sft (k=1) right: i % 3 == 0 and (i + 1) % 3 != 0, on odd rows, text "question number 1..."
    expected = sum(1 for i in range(1, 10_000, 2) if i % 3 == 0 and str(i).startswith("1"))
    assert count(page, "shown") == expected
    page.mouse.wheel(0, 20_000)
    page.wait_for_function(f"document.querySelectorAll('article[data-sample-id]').length === {min(expected, 80)}")
    # generous bounds for a shared 2-core machine; typical: ~1 s to load, well under 1 s to filter
    assert loaded < 20 and filtered < 8, (loaded, filtered)
    assert opened.errors == []


EXPORT = [
    {"review_id": "r1", "step": "generate", "model": "gpt-x", "item": {"question": "What colour?", "answer": "red"}},
    {"review_id": "r2", "step": "generate", "model": "gpt-x", "item": {"question": "Which element?", "answer": "Li"}},
    {"review_id": "r3", "step": "qc", "model": "judge-y", "item": {"question": "Atomic number?", "answer": "3"}},
]
EDITED = {"question": "Which element gives a red flame?", "answer": "lithium"}


def write_export(path: Path) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in EXPORT))
    return path


def review_keystrokes(page: Any) -> None:
    """accept r1, reject r2 with a note, edit r3 (a bad edit first, refused), then step back and forth."""
    page.wait_for_selector("#item[data-review-id='r1']")
    page.keyboard.press("a")
    page.wait_for_selector("#item[data-review-id='r2']")
    page.fill("#note", "duplicate of r1")
    page.locator("#item").click()  # leave the note field: shortcuts are off while typing
    page.keyboard.press("r")
    page.wait_for_selector("#item[data-review-id='r3']")
    page.keyboard.press("e")
    page.fill("#edit-text", "{not json")
    page.keyboard.press("Control+Enter")
    assert "not valid JSON" in page.inner_text("#edit-error")
    page.fill("#edit-text", '["an array"]')
    page.keyboard.press("Control+Enter")
    assert "must stay a JSON object" in page.inner_text("#edit-error")
    assert page.get_attribute("#progress", "data-decided") == "2"
    page.fill("#edit-text", json.dumps(EDITED))
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#progress[data-decided='3']")
    assert page.inner_text("#progress") == "3 of 3 decided"
    page.keyboard.press("k")
    page.wait_for_selector("#item[data-review-id='r2']")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#item[data-review-id='r3']")


def assert_round_trip(path: Path) -> None:
    verdicts = {v.review_id: v for v in read_verdicts(path)}
    assert [verdicts[k].verdict for k in ("r1", "r2", "r3")] == ["accept", "reject", "edit"]
    assert verdicts["r2"].note == "duplicate of r1" and verdicts["r3"].item == EDITED
    assert verdicts["r1"].item is None


def test_review_page_from_disk_round_trips_verdicts_by_download(site, tmp_path, open_page):
    export = write_export(tmp_path / "export.jsonl")
    opened = open_page((site / "review.html").as_uri())
    page = opened.page
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#file", str(export))
    page.wait_for_selector("#item[data-review-id='r1']")
    page.focus("#file")  # the browser may hand focus back to the picker after a pick: shortcuts must still work
    review_keystrokes(page)
    opened.screenshot("review")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "export.jsonl.verdicts.jsonl"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert_round_trip(saved)
    assert opened.errors == []


@pytest.fixture
def served(site: Path, known_run, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    export = write_export(tmp_path / "export.jsonl")
    server = make_server(site, run_dir=known_run.run_dir, port=0, review=export)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url, export
    server.shutdown()
    server.server_close()


def test_review_page_served_saves_each_verdict_beside_the_export(served, open_page):
    url, export = served
    opened = open_page(url.replace("index.html", "review.html"))
    page = opened.page
    review_keystrokes(page)
    page.wait_for_selector("#save-status[data-saved='3']")
    assert_round_trip(verdicts_path(export))
    # a reload resumes from the saved verdicts
    page.reload()
    page.wait_for_selector("#progress[data-decided='3']")
    opened.screenshot("review-served")
    run_page = open_page(url)
    assert run_page.page.locator("#stages tr[data-stage]").count() == 7
    assert opened.errors == [] and run_page.errors == []
