"""Bad input through the real CLI: validate, prepare-sft, prepare-rl and check report the bad row and keep the rest.

Each case is a three-line corpus whose line 2 is the case (or a file-level change such as a BOM or CRLF endings);
every command must exit sensibly without a traceback, convert every good row and name the bad one by file, line,
field and reason.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from videokr.cli import main
from videokr.data import rl, sft
from videokr.data.synth import write_video

BOM = b"\xef\xbb\xbf"
SURROGATE = "not valid Unicode: lone surrogate"


def _row(n: int, **change: Any) -> dict[str, Any]:
    row = {
        "problem_id": f"p{n}",
        "problem_type": "multiple choice",
        "question": f"Q{n}?",
        "options": ["A. x", "B. y"],
        "solution": "B",
        "think": "Because.",
        "subject": "Physics",
        "video_path": f"videos_0001/v{n}.mp4",
    }
    return {key: value for key, value in {**row, **change}.items() if value is not None}


def _line(**change: Any) -> bytes:
    return json.dumps(_row(2, **change)).encode()  # ensure_ascii: a lone surrogate becomes the "\ud800" escape


def _corpus(bad: bytes | None = None, *, bom: bool = False, crlf: bool = False, bom_each: bool = False) -> bytes:
    lines = [json.dumps(_row(1)).encode(), bad or json.dumps(_row(2)).encode(), json.dumps(_row(3)).encode()]
    if bom_each:  # files saved with a BOM, then joined with cat
        lines = [BOM + line for line in lines]
    data = (b"\r\n" if crlf else b"\n").join(lines) + (b"\r\n" if crlf else b"\n")
    return BOM + data if bom else data


def _nested(depth: int) -> Any:
    value: Any = "videos_0001/v2.mp4"
    for _ in range(depth):
        value = [value]
    return value


Issue = tuple[str, str] | None  # (field, text the reason contains); None: every row is good

CASES = [
    pytest.param(_corpus(), None, id="clean"),
    pytest.param(_corpus(bom=True), None, id="utf8-bom"),
    pytest.param(_corpus(crlf=True), None, id="crlf"),
    pytest.param(_corpus(bom=True, crlf=True), None, id="bom-and-crlf"),
    pytest.param(_corpus(bom_each=True), None, id="bom-on-every-line"),
    pytest.param(_corpus(_line(question="Q2 \U0001f600?")), None, id="surrogate-pair-is-fine"),
    pytest.param(_corpus(_line(question="Q2\u0000?")), None, id="escaped-nul-in-text-is-kept"),
    pytest.param(_corpus(_line(think="x" * 5_000_000)), None, id="5mb-field"),
    pytest.param(_corpus(_line().replace(b'"Q2?"', b'"Q2\x00?"')), ("json", "invalid JSON"), id="raw-nul-byte"),
    pytest.param(_corpus(b"\x00" * 64), ("json", "invalid JSON"), id="zero-filled-line"),
    pytest.param(
        _corpus(_line(video_path="videos_0001/v2\u0000.mp4")), ("video_path", "NUL character"), id="nul-in-video-path"
    ),
    pytest.param(_corpus(_line(question="Q2\ud800?")), ("question", SURROGATE), id="surrogate-question"),
    pytest.param(_corpus(_line(options=["A. x\udfff", "B. y"])), ("options", SURROGATE), id="surrogate-options"),
    pytest.param(_corpus(_line(solution="B\ud83d")), ("solution", SURROGATE), id="surrogate-solution"),
    pytest.param(_corpus(_line(think="\udc80")), ("think", SURROGATE), id="surrogate-think"),
    pytest.param(_corpus(_line(problem_id="p2\ud800")), ("problem_id", SURROGATE), id="surrogate-problem-id"),
    pytest.param(_corpus(_line(problem_type="mcq\ud800")), ("problem_type", SURROGATE), id="surrogate-type"),
    pytest.param(_corpus(_line(subject="Phys\ud800")), ("subject", SURROGATE), id="surrogate-subject"),
    pytest.param(
        _corpus(_line(video_path="videos_0001/v2\ud800.mp4")), ("video_path", SURROGATE), id="surrogate-video-path"
    ),
    pytest.param(
        _corpus(_line(video_path=None, videos=[{"video": "v2\ud800.mp4"}])),
        ("videos", SURROGATE),
        id="surrogate-videos-entry",
    ),
    pytest.param(_corpus(_line(**{"note\ud800": 1})), ("note\\ud800", SURROGATE), id="surrogate-in-a-key"),
    pytest.param(_corpus(b"\xed\xa0\x80"), ("json", "not valid UTF-8"), id="utf8-encoded-surrogate"),
    pytest.param(_corpus(b"[1, 2]"), ("row", "got array"), id="line-is-array"),
    pytest.param(_corpus(b"42"), ("row", "got number"), id="line-is-number"),
    pytest.param(_corpus(b'"text"'), ("row", "got string"), id="line-is-string"),
    pytest.param(_corpus(b"null"), ("row", "got null"), id="line-is-null"),
    pytest.param(_corpus(_line(question={"text": "Q2?"})), ("question", "got object"), id="question-object"),
    pytest.param(_corpus(_line(solution={"letter": "B"})), ("solution", "got object"), id="solution-object"),
    pytest.param(_corpus(_line(think=["a", "b"])), ("think", "got array"), id="think-array"),
    pytest.param(_corpus(_line(problem_id={"id": 2})), ("problem_id", "got object"), id="problem-id-object"),
    pytest.param(_corpus(_line(subject=["Physics"])), ("subject", "got array"), id="subject-array"),
    pytest.param(_corpus(_line(options=[["A. x"], "B. y"])), ("options", "must be strings"), id="options-nested"),
    pytest.param(
        _corpus(_line(video_path={"video": {"path": "v2.mp4"}})), ("video_path", "got object"), id="video-path-object"
    ),
    pytest.param(
        _corpus(_line(video_path=None, videos=_nested(5))), ("video_path", "got array"), id="videos-nested-lists"
    ),
    pytest.param(_corpus(_line(extra=_nested(200))), ("extra", "nested deeper than"), id="deeply-nested-field"),
    pytest.param(_corpus(b"[" * 100_000 + b"]" * 100_000), ("json", "nested too deeply"), id="deeply-nested-line"),
]


@dataclass(frozen=True)
class Outcome:
    """What one command did: exit code, ids of the rows it converted (None: converts nothing), issues it named."""

    code: int
    converted: list[str] | None
    issues: list[tuple[str, int, str, str]]  # (file, line, field, reason)


def _validate(src: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    code = main(["data", "validate", str(src), "--report", str(tmp / "issues.jsonl")])
    printed = capsys.readouterr().out
    issues = []
    for issue in map(json.loads, (tmp / "issues.jsonl").read_text().splitlines()):
        assert f"{src}:{issue['line']}: {issue['severity']}: {issue['field']}: {issue['message']}" in printed
        issues.append((str(src), issue["line"], issue["field"], issue["message"]))
    return Outcome(code, None, issues)


def _prepare_sft(src: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    code = main(["data", "prepare-sft", "--input", str(src), "--output-dir", str(tmp / "sft")])
    entries = json.loads((tmp / "sft" / "videokr_train.json").read_text(encoding="utf-8"))
    converted = [Path(entry["videos"][0]).stem.replace("v", "p") for entry in entries]
    skipped = map(json.loads, (tmp / "sft" / "skipped.jsonl").read_text().splitlines())
    return Outcome(code, converted, [(s["file"], s["line"], s["field"], s["reason"]) for s in skipped])


def _prepare_rl(src: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    argv = ["data", "prepare-rl", "--input", str(src), "--output-dir", str(tmp / "rl"), "--video-root", str(tmp)]
    code = main([*argv, "--val-size", "0", "--no-length-filter"])
    converted = [row["extra_info"]["problem_id"] for row in pq.read_table(tmp / "rl" / "train.parquet").to_pylist()]
    dropped = map(json.loads, (tmp / "rl" / "dropped.jsonl").read_text().splitlines())
    return Outcome(code, converted, [(d["file"], d["line"], d["field"], d["detail"]) for d in dropped])


def _check(src: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    report = tmp / "check.jsonl"
    argv = ["data", "check", "--input", str(src), "--video-root", str(tmp), "--family", "qwen2_5_vl"]
    code = main([*argv, "--report", str(report)])
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    converted = [row["problem_id"] for row in rows if row["status"] == "ok"]
    # The report covers one input file; an invalid row's reason reads "<field>: <message>".
    bad = [row for row in rows if row["status"] != "ok"]
    return Outcome(code, converted, [(str(src), row["line"], *row["reason"].split(": ", 1)) for row in bad])


Command = Callable[[Path, Path, pytest.CaptureFixture[str]], Outcome]
COMMANDS = [
    pytest.param(_validate, 1, id="validate"),
    pytest.param(_prepare_sft, 0, id="prepare-sft"),
    pytest.param(_prepare_rl, 0, id="prepare-rl"),
    pytest.param(_check, 1, id="check"),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short generated clip, linked in as every row's video."""
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=1.0)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("command", "code_when_bad"), COMMANDS)
@pytest.mark.parametrize(("content", "issue"), CASES)
def test_cli_bad_row_is_reported_and_good_rows_are_kept(
    tmp_path: Path,
    clip: Path,
    capsys: pytest.CaptureFixture[str],
    command: Command,
    code_when_bad: int,
    content: bytes,
    issue: Issue,
) -> None:
    (tmp_path / "videos_0001").mkdir()
    for n in (1, 2, 3):
        os.symlink(clip, tmp_path / "videos_0001" / f"v{n}.mp4")
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    outcome = command(src, tmp_path, capsys)
    assert "Traceback" not in capsys.readouterr().err
    assert outcome.code == (code_when_bad if issue else 0)
    if outcome.converted is not None:
        assert outcome.converted == (["p1", "p3"] if issue else ["p1", "p2", "p3"])
    if issue is None:
        assert outcome.issues == []
        return
    field, reason = issue
    assert [(file, line, name) for file, line, name, _ in outcome.issues] == [(str(src), 2, field)]
    assert reason in outcome.issues[0][3]


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("verb", "extra", "module", "name"),
    [
        pytest.param("prepare-sft", [], sft, "sft_entry", id="prepare-sft"),
        pytest.param("prepare-rl", ["--val-size", "0", "--no-length-filter"], rl, "rl_row", id="prepare-rl"),
    ],
)
def test_cli_prepare_interrupted_mid_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: str, extra: list[str], module: ModuleType, name: str
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(_corpus())
    original, calls = getattr(module, name), []

    def interrupt_second_row(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the first row is already in the temp file
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupt_second_row)
    out = tmp_path / "out"
    argv = ["data", verb, "--input", str(src), "--output-dir", str(out), "--video-root", str(tmp_path), *extra]
    assert main(argv) == 130
    assert len(calls) == 2 and list(out.iterdir()) == []
