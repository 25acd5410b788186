"""End to end: a generated training set with planted contamination of every kind and hard negatives, checked
against generated benchmarks by `decontaminate` (and the CLI): recall on the planted rows, none of the negatives."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from videokr.cli import main
from videokr.data.decontam import Benchmark, DecontaminateSettings, decontaminate
from videokr.data.synth import write_video

YT_SHARED_FIELD = "Xq3vB7nK0aE"  # a benchmark row's videoID, a training row's watch URL
YT_SHARED_NAME = "dQw4w9WgXcQ"  # a benchmark row's youtu.be URL, a training video's file name

BENCH_QUESTION = "Which element gives the flame its green colour when the wire is held in the burner?"
TRAIN_QUESTION_SAME = "which ELEMENT gives the flame its green colour, when the wire is held in the burner"
TRAIN_QUESTION_EDITED = "Which element gives the flame its green colour when the loop is held in the burner?"
BENCH_TEMPLATE = "What colour is the flame when sodium chloride is heated on the platinum wire?"
TRAIN_TEMPLATE = "What colour is the flame when copper sulfate is heated on the nichrome loop?"


Scene = Callable[[float, int, int], np.ndarray]  # (seconds, width, height) -> HxWx3 uint8


def scene(seed: int, scene_seconds: float = 2.5) -> Scene:
    """A clip whose picture drifts slowly and changes completely every `scene_seconds`."""

    def paint(t: float, width: int, height: int) -> np.ndarray:
        cut = int(t // scene_seconds)
        rng = np.random.default_rng([seed, cut])
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        yy, xx = yy / height, xx / width
        frame = np.zeros((height, width, 3), np.float32)
        for _ in range(3):
            fx, fy = rng.uniform(1, 4, 2)
            phase = rng.uniform(0, 6.3) + 0.4 * t
            colour = rng.uniform(30, 90, 3)
            frame += (
                colour * (np.sin(2 * np.pi * (fx * xx + phase / 6)) * np.cos(2 * np.pi * fy * yy + phase))[..., None]
            )
        frame += 120
        for _ in range(3):
            x0, y0, vx, vy = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05)
            r = rng.uniform(0.08, 0.2)
            cx, cy = (x0 + vx * t) % 1, (y0 + vy * t) % 1
            mask = (np.abs(xx - cx) < r) & (np.abs(yy - cy) < r * 1.6)
            frame[mask] = rng.uniform(0, 255, 3)
        return frame.clip(0, 255).astype(np.uint8)

    return paint


def card(seed: int) -> Scene:
    """A static title card: bright bars of text-like blocks on a dark ground, identical at every time."""

    def paint(t: float, width: int, height: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        frame = np.full((height, width, 3), 20, np.uint8)
        for _ in range(6):
            x, y = rng.uniform(0.1, 0.6), rng.uniform(0.2, 0.8)
            frame[
                int(y * height) : int(y * height) + max(2, height // 12), int(x * width) : int((x + 0.3) * width)
            ] = 230
        return frame

    return paint


def black() -> Scene:
    """A black picture."""
    return lambda t, width, height: np.zeros((height, width, 3), np.uint8)


def concat(*parts: tuple[Scene, float, float]) -> Scene:
    """Parts (scene, start time in that scene, seconds) one after another."""

    def paint(t: float, width: int, height: int) -> np.ndarray:
        for part, start, seconds in parts:
            if t < seconds:
                return part(start + t, width, height)
            t -= seconds
        last, start, seconds = parts[-1]
        return last(start + seconds, width, height)

    return paint


def letterbox(content: Scene, inner: float = 0.75) -> Scene:
    """`content` shrunk to `inner` of the height and width, padded with black bars."""

    def paint(t: float, width: int, height: int) -> np.ndarray:
        w, h = int(width * inner) // 2 * 2, int(height * inner) // 2 * 2
        frame = np.zeros((height, width, 3), np.uint8)
        top, left = (height - h) // 2, (width - w) // 2
        frame[top : top + h, left : left + w] = content(t, w, h)
        return frame

    return paint


def crop(content: Scene, share: float = 0.05) -> Scene:
    """`content` with `share` of each side cut away, scaled back to the frame."""

    def paint(t: float, width: int, height: int) -> np.ndarray:
        big_w, big_h = round(width / (1 - 2 * share)), round(height / (1 - 2 * share))
        frame = content(t, big_w, big_h)
        top, left = (big_h - height) // 2, (big_w - width) // 2
        return frame[top : top + height, left : left + width]

    return paint


def brighter(content: Scene, shift: int = 35) -> Scene:
    """`content` with every pixel `shift` brighter."""
    return lambda t, width, height: np.clip(content(t, width, height).astype(np.int16) + shift, 0, 255).astype(
        np.uint8
    )


def render(path: Path, content: Scene, seconds: float, width: int = 128, height: int = 72, fps: float = 8.0) -> Path:
    """Encode `content` to an H.264 mp4."""
    return write_video(
        path,
        width=width,
        height=height,
        fps=fps,
        seconds=seconds,
        gop=int(fps * 2),
        painter=lambda index: content(index / fps, width, height),
    )


@dataclass(frozen=True)
class Corpus:
    """The generated files and the expected verdict of every training row id."""

    train: Path
    train_root: Path
    bench: Path
    bench_root: Path
    extra: Path  # a second benchmark file in another layout
    against_videos: Path
    expected: dict[str, str | None]  # row id -> reason, None for a hard negative


def _row(problem_id: str, video: str | None, question: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "problem_id": problem_id,
        "problem_type": "multiple choice",
        "question": question,
        "options": ["A. red", "B. green", "C. violet", "D. yellow"],
        "solution": "<answer>B</answer>",
        **extra,
    }
    if video is not None:
        row["video_path"] = video
    return row


def _write(path: Path, rows: list[dict[str, Any]], bad_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(line + "\n" for line in bad_lines))
    return path


def _question(index: int) -> str:
    subjects = ("a pendulum", "a lever", "an enzyme", "a prism", "a capacitor", "a glacier", "a vaccine", "a bridge")
    verbs = ("swing", "balance", "react", "bend light", "charge", "move", "work", "carry loads")
    return f"In clip {index}, how does {subjects[index % 8]} {verbs[index % 8]} under test condition {index * 7}?"


def _benchmark(root: Path) -> tuple[Path, Path, Path]:
    videos = root / "bench"
    render(videos / "v/b0.mp4", scene(10), 12)
    render(videos / "v/b1.mp4", scene(11), 12)
    render(videos / "v/b2.mp4", scene(12), 12)
    render(videos / "v/b3.mp4", scene(13), 12)
    render(videos / "v/b4.mp4", scene(14), 12)
    render(videos / "v/b5.mp4", scene(15), 16)
    render(videos / "v/b6.mp4", concat((card(60), 0, 6), (scene(16), 0, 6)), 12)
    render(videos / "v/b7.mp4", concat((black(), 0, 6), (scene(17), 0, 6)), 12)
    render(videos / "v/clip_000001.mp4", scene(18), 10)
    render(videos / "v/q.mp4", scene(19), 8)
    rows = [_row(f"eval-{i}", f"v/b{i}.mp4", _question(100 + i)) for i in range(8)]
    rows += [
        _row("eval-name", "v/clip_000001.mp4", _question(120)),
        _row("eval-q", "v/q.mp4", BENCH_QUESTION),
        _row("eval-template", "v/q.mp4", BENCH_TEMPLATE, options=["A. yellow", "B. red", "C. blue", "D. white"]),
        _row("eval-short", "v/q.mp4", "What happens next?"),
    ]
    bench = _write(root / "eval.jsonl", rows)
    # A Video-MME-like file: ids and URLs, no video paths (its videos are a plain folder).
    extra = _write(
        root / "videomme.jsonl",
        [
            {"question_id": "mme-1", "videoID": YT_SHARED_FIELD, "question": _question(130), "answer": "A"},
            {"question_id": "mme-2", "youtube_url": f"https://youtu.be/{YT_SHARED_NAME}", "question": _question(131)},
        ],
    )
    folder = root / "mme_videos"
    render(folder / "mmeclip.mp4", scene(20), 12, 160, 90, 6)
    return bench, extra, folder


def _training(root: Path) -> tuple[Path, dict[str, str | None]]:
    v = root / "train"
    planted: list[tuple[str, Path, str | None, str]] = [
        ("t-resize", render(v / "a/resize.mp4", scene(10), 12, 96, 54, 10), "near_duplicate", _question(1)),
        ("t-letterbox", render(v / "a/lb.mp4", letterbox(scene(11)), 12, 160, 90, 12), "near_duplicate", _question(2)),
        ("t-crop", render(v / "a/crop.mp4", crop(scene(12)), 12), "near_duplicate", _question(3)),
        ("t-bright", render(v / "a/bright.mp4", brighter(scene(13)), 12), "near_duplicate", _question(4)),
        (
            "t-contains",
            render(v / "a/contains.mp4", concat((scene(40), 0, 5), (scene(14), 3.3, 8), (scene(41), 0, 4)), 17),
            "near_duplicate",
            _question(5),
        ),
        (
            "t-inside",
            render(v / "a/inside.mp4", concat((scene(15), 4.7, 9)), 9, fps=6),
            "near_duplicate",
            _question(6),
        ),
        ("t-folder", render(v / "a/folder.mp4", scene(20), 12), "near_duplicate", _question(7)),
        ("t-url", render(v / "a/url.mp4", scene(42), 8), "source_id", _question(8)),
        ("t-filename", render(v / f"a/{YT_SHARED_NAME}.mp4", scene(43), 8), "source_id", _question(9)),
        ("t-question", render(v / "a/q1.mp4", scene(44), 8), "question_overlap", TRAIN_QUESTION_SAME),
        ("t-question-edit", render(v / "a/q2.mp4", scene(45), 8), "question_overlap", TRAIN_QUESTION_EDITED),
        # Hard negatives.
        ("n-unrelated", render(v / "a/n1.mp4", scene(46), 12), None, _question(20)),
        ("n-card", render(v / "a/n2.mp4", concat((card(60), 0, 6), (scene(47), 0, 6)), 12), None, _question(21)),
        ("n-black", render(v / "a/n3.mp4", concat((black(), 0, 6), (scene(48), 0, 6)), 12), None, _question(22)),
        ("n-name", render(v / "b/clip_000001.mp4", scene(49), 10), None, _question(23)),
        ("n-template", render(v / "a/n5.mp4", scene(50), 8), None, TRAIN_TEMPLATE),
        ("n-short", render(v / "a/n6.mp4", scene(51), 8), None, "What happens next?"),
        ("n-other-id", render(v / "a/n7.mp4", scene(52), 8), None, _question(26)),
    ]
    rows = []
    for problem_id, path, _, question in planted:
        extra: dict[str, Any] = {}
        if problem_id == "t-url":
            extra["url"] = f"https://www.youtube.com/watch?v={YT_SHARED_FIELD}&t=30s"
        if problem_id == "n-other-id":
            extra["url"] = "https://www.youtube.com/watch?v=Zz9yY8xX7wA"
        if problem_id == "t-question-edit":
            extra["options"] = ["A. violet", "B. green", "C. yellow", "D. red"]
        if problem_id == "n-template":
            extra["options"] = ["A. blue-green", "B. orange", "C. lilac", "D. crimson"]
        rows.append(_row(problem_id, path.relative_to(v).as_posix(), question, **extra))
    rows.append(_row("missing-video", "a/missing.mp4", _question(30)))
    expected = {problem_id: reason for problem_id, _, reason, _ in planted} | {"missing-video": None}
    return _write(root / "train.jsonl", rows, bad_lines=('{"problem_id": "broken"',)), expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The generated benchmark and training set (about 30 small clips)."""
    root = tmp_path_factory.mktemp("decontam")
    bench, extra, folder = _benchmark(root)
    train, expected = _training(root)
    return Corpus(train, root / "train", bench, root / "bench", extra, folder, expected)


def _settings(corpus: Corpus, out: Path, **change: Any) -> DecontaminateSettings:
    return DecontaminateSettings(
        input=corpus.train,
        video_root=corpus.train_root,
        against=[Benchmark(rows=corpus.bench, video_root=corpus.bench_root), Benchmark(rows=corpus.extra)],
        against_videos=[corpus.against_videos],
        output_dir=out,
        **change,
    )


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def first_run(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("out")
    return out, decontaminate(_settings(corpus, out))


def test_decontaminate_finds_every_planted_kind_and_no_negative(corpus: Corpus, first_run: tuple[Path, Any]) -> None:
    out, result = first_run
    found = {row["problem_id"]: row["contamination"]["reason"] for row in _read(out / "contaminated.jsonl")}
    planted = {key: reason for key, reason in corpus.expected.items() if reason}
    recall = sum(found.get(key) == reason for key, reason in planted.items()) / len(planted)
    assert recall >= 0.95, {key: (reason, found.get(key)) for key, reason in planted.items()}
    assert not [key for key in found if corpus.expected.get(key) is None]
    assert result.contaminated == len(found) and result.kept == len(corpus.expected) - len(found)
    assert result.by_reason == {"source_id": 2, "near_duplicate": 7, "question_overlap": 2}


def test_decontaminate_every_row_lands_in_exactly_one_file_unchanged(
    corpus: Corpus, first_run: tuple[Path, Any]
) -> None:
    out, _ = first_run
    kept, bad = _read(out / "kept.jsonl"), _read(out / "contaminated.jsonl")
    ids = [row["problem_id"] for row in kept + bad]
    assert sorted(ids) == sorted(corpus.expected)  # the broken JSON line is an issue, not a row
    originals = {row["problem_id"]: row for row in _read_lenient(corpus.train)}
    assert all(row == originals[row["problem_id"]] for row in kept)
    assert all({k: v for k, v in row.items() if k != "contamination"} == originals[row["problem_id"]] for row in bad)


def _read_lenient(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def test_decontaminate_contamination_object_names_benchmark_match_and_evidence(
    corpus: Corpus, first_run: tuple[Path, Any]
) -> None:
    out, _ = first_run
    found = {row["problem_id"]: row["contamination"] for row in _read(out / "contaminated.jsonl")}
    contains = found["t-contains"]
    assert contains["benchmark"] == str(corpus.bench) and contains["match"] == "eval-4"
    assert contains["seconds"] >= 6 and abs((contains["train_start"] - contains["benchmark_start"]) - 1.7) <= 0.6
    assert found["t-folder"]["benchmark"] == str(corpus.against_videos)
    assert found["t-folder"]["match"].endswith("mmeclip.mp4")
    assert found["t-url"] == {
        "reason": "source_id",
        "benchmark": str(corpus.extra),
        "match": "mme-1",
        "source_id": f"youtube:{YT_SHARED_FIELD}",
    }
    assert found["t-filename"]["source_id"] == f"youtube:{YT_SHARED_NAME}"
    assert found["t-question"]["match"] == "eval-q" and found["t-question"]["score"] >= 0.5
    assert found["t-question-edit"]["threshold"] == 0.5


def test_decontaminate_reports_issues_thresholds_and_markdown(first_run: tuple[Path, Any]) -> None:
    out, result = first_run
    report = json.loads((out / "report.json").read_text())
    assert result.report_path == out / "report.json" and result.issues == 2
    assert {(i["line"], i["field"]) for i in report["issues"]} == {(19, "video_path"), (20, "json")}
    assert report["settings"]["matching"]["max_distance"] == 18
    assert report["settings"]["questions"]["threshold"] == 0.5
    assert report["hashing"]["train"]["hashed"] == 18 and report["hashing"]["train"]["failed"] == 1
    markdown = (out / "report.md").read_text()
    assert "near_duplicate" in markdown and "Jaccard" in markdown and "max_distance=18" in markdown


def test_decontaminate_second_run_hashes_nothing_and_workers_agree(
    corpus: Corpus, first_run: tuple[Path, Any], tmp_path: Path
) -> None:
    out, result = first_run
    again = decontaminate(_settings(corpus, tmp_path / "again", cache_dir=out / "cache", workers=2))
    report = json.loads((tmp_path / "again" / "report.json").read_text())
    assert report["hashing"]["train"]["hashed"] == 0 and report["hashing"]["benchmark"]["hashed"] == 0
    assert report["hashing"]["train"]["cached"] == 18
    assert (again.kept, again.contaminated, again.by_reason) == (result.kept, result.contaminated, result.by_reason)
    fresh = decontaminate(_settings(corpus, tmp_path / "fresh", workers=2))
    assert fresh.by_reason == result.by_reason
    assert (tmp_path / "fresh" / "contaminated.jsonl").read_text() == (out / "contaminated.jsonl").read_text()


def test_cli_decontaminate_prints_summary_and_flags_unchecked_rows(
    corpus: Corpus, first_run: tuple[Path, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = first_run
    argv = ["data", "decontaminate", "--input", str(corpus.train), "--video-root", str(corpus.train_root)]
    argv += ["--against", str(corpus.bench), "--against-video-root", str(corpus.bench_root)]
    argv += ["--against", str(corpus.extra), "--against-videos", str(corpus.against_videos)]
    argv += ["--output-dir", str(tmp_path / "cli"), "--cache-dir", str(out / "cache")]
    code = main(argv)
    printed = capsys.readouterr().out
    assert code == 1  # one row's video is missing: decontamination of that row is incomplete
    assert "11 contaminated" in printed and "near_duplicate" in printed and "2 issues" in printed
