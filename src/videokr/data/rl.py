"""`videokr data prepare-rl`: a corpus file -> verl train.parquet / test.parquet (PROTOCOL.md section 4).

The split is the published one and is computed on the published row set: every readable row with a video
path and a ground truth, shuffled with `random.Random(seed)`, the first `val_size` shuffled indices going to
`test`. Filters that the published converter does not apply (rows videokr cannot read into a Sample, videos
that are missing or unreadable, prompts over the token budget) run *after* the split, removing rows from
whichever file they fell in, so a row that survives lands in the same file as with the published converter
for the same input and seed (the test file may then hold fewer than `val_size` rows). `extra_info.index`
counts the rows actually written to each file. Every dropped row is listed in `dropped.jsonl` with its
file, line, field and reason.

Rows are streamed in two passes (count the published row set, then convert) and written in batches with
pyarrow, so memory stays flat; both parquet files appear only when the whole input has been converted.
"""

import functools
import json
import logging
import os
import random
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast

import pyarrow as pa
import pyarrow.parquet as pq

from videokr.data.parallel import map_chunks
from videokr.data.read import Row, read_rows, resolve_video_path, to_sample
from videokr.data.verdict import Probe, check_video
from videokr.errors import ConfigError, DataError
from videokr.families import Family
from videokr.io import atomic_open
from videokr.prompts import Style, render_prompt
from videokr.records import ALIASES, RowError, RowIssue, Sample, raw_video_value

logger = logging.getLogger(__name__)

# The published video settings (PROTOCOL.md sections 4 and 7): fps 2, 4-128 frames, max = min pixels 128*28*28.
VIDEO_DEFAULTS: dict[str, Any] = {
    "fps": 2.0,
    "max_frames": 128,
    "min_frames": 4,
    "max_pixels": 100352,
    "min_pixels": 100352,
}
DROPPED_FILE = "dropped.jsonl"
BATCH_ROWS = 2048

_VIDEO_STRUCT = pa.struct(
    [
        ("video", pa.string()),
        ("fps", pa.float64()),
        ("max_frames", pa.int64()),
        ("min_frames", pa.int64()),
        ("max_pixels", pa.int64()),
        ("min_pixels", pa.int64()),
    ]
)
SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("videos", pa.list_(_VIDEO_STRUCT)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
                [
                    ("problem_id", pa.string()),
                    ("problem_type", pa.string()),
                    ("answer", pa.string()),
                    ("solution", pa.string()),
                    ("source_path", pa.string()),
                    ("split", pa.string()),
                    ("index", pa.int64()),
                ]
            ),
        ),
    ]
)


class Budget(Protocol):
    """Counts a prompt's tokens as verl does: chat-template text tokens plus the video's visual tokens."""

    def count(self, messages: list[dict[str, Any]], video: Any, video_cfg: dict[str, Any]) -> int:
        """Total prompt tokens of `messages` with `video` (a probed VideoInfo) sampled per `video_cfg`."""
        ...


@dataclass(frozen=True)
class RlResult:
    """What prepare-rl wrote: paths and counts per stage of the filtering."""

    train: Path
    test: Path
    dropped_report: Path
    rows_read: int
    split_rows: int  # the published row set the split was computed on
    train_rows: int
    test_rows: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows


def has_ground_truth(row: Mapping[str, Any]) -> bool:
    """Whether a raw row has a non-blank ground truth under any alias (the published converter's rule)."""
    return any(row.get(key) is not None and str(row.get(key)).strip() for key in ALIASES["solution"])


def has_video(row: Mapping[str, Any]) -> bool:
    """Whether a raw row has a video value (one that is not a path still counts: it is dropped after the split)."""
    try:
        return bool(raw_video_value(row))
    except RowError:
        return True


def in_published_set(row: Row | RowIssue) -> bool:
    """Whether the published converter keeps a row before its split: a video path and a ground truth."""
    return not isinstance(row, RowIssue) and has_video(row) and has_ground_truth(row)


def holdout_ordinals(n: int, val_size: int, seed: int) -> set[int]:
    """Positions (within the published row set) that the published split sends to `test`.

    >>> sorted(holdout_ordinals(10, 3, 42))
    [2, 3, 7]
    """
    indices = list(range(n))
    random.Random(seed).shuffle(indices)
    return set(indices[: min(max(val_size, 0), n)])


def rl_row(sample: Sample, video: str, style: Style = "compat", video_cfg: Mapping[str, Any] | None = None) -> Row:
    """One verl row (without `split` / `index`, which the writer fills in)."""
    return {
        "data_source": "videokr",
        "prompt": [{"role": "user", "content": render_prompt(sample, "rl", style)}],
        "videos": [{"video": video, **(video_cfg or VIDEO_DEFAULTS)}],
        "ability": "video_qa",
        "reward_model": {"style": "rule", "ground_truth": f"<answer>{sample.solution}</answer>"},
        "extra_info": {
            "problem_id": sample.problem_id or None,
            "problem_type": sample.problem_type,
            "answer": sample.solution,
            "solution": _raw_solution(sample),
            "source_path": raw_video_value(sample.raw) or sample.video_path,
        },
    }


def _raw_solution(sample: Sample) -> str:
    for key in ALIASES["solution"]:
        if sample.raw.get(key) is not None:
            return str(sample.raw[key])
    return sample.solution


class _ParquetSink:
    """Batches rows of one split into a parquet file, numbering them."""

    def __init__(self, handle: IO[bytes], split: str) -> None:
        self.writer = pq.ParquetWriter(handle, SCHEMA)
        self.split, self.rows, self.buffer = split, 0, list[Row]()

    def __enter__(self) -> "_ParquetSink":
        return self

    def __exit__(self, *exc: object) -> None:
        # Release the writer (a no-op after close) before its file is closed: on an error its __del__ would
        # otherwise write to the closed temp file.
        self.writer.close()

    def add(self, row: Row) -> None:
        row["extra_info"]["split"] = self.split
        row["extra_info"]["index"] = self.rows
        self.buffer.append(row)
        self.rows += 1
        if len(self.buffer) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=SCHEMA))
            self.buffer.clear()

    def close(self) -> None:
        self.flush()
        self.writer.close()


@dataclass
class _Pending:
    line: int
    split: str
    row: Row


class _Dropped:
    """Streams dropped rows to the report and counts reasons."""

    def __init__(self, handle: IO[str], source: str) -> None:
        self.handle, self.source, self.reasons = handle, source, Counter[str]()

    def add(self, line: int, reason: str, field_name: str, detail: str, problem_id: Any = None) -> None:
        self.reasons[reason] += 1
        record = {
            "file": self.source,
            "line": line,
            "problem_id": problem_id,
            "reason": reason,
            "field": field_name,
            "detail": detail,
        }
        self.handle.write(json.dumps(record) + "\n")  # ASCII escapes: a report line can always be written


def _published_count(path: str | os.PathLike[str]) -> tuple[int, int]:
    rows = members = 0
    for _, row in read_rows(path, progress="prepare-rl: scan"):
        rows += 1
        members += in_published_set(row)
    return rows, members


def _convert(
    path: str | os.PathLike[str], root: Path, tests: set[int], style: Style, drops: _Dropped
) -> Iterator[_Pending]:
    ordinal = -1
    for line, raw in read_rows(path, progress="prepare-rl"):
        if not in_published_set(raw):
            drops.add(line, *_unpublished_reason(raw))
            continue
        ordinal += 1
        item = to_sample(line, raw)
        if isinstance(item, RowIssue):
            drops.add(line, "invalid_row", item.field, item.message)
            continue
        if not item.video_path:
            drops.add(line, "no_video", "video_path", "video path is empty after normalisation", item.problem_id)
            continue
        video = resolve_video_path(root, item.video_path)
        split = "test" if ordinal in tests else "train"
        yield _Pending(line, split, rl_row(item, video, style))


def _unpublished_reason(raw: Row | RowIssue) -> tuple[str, str, str]:
    """(reason, field, detail) for a row outside the published set."""
    if isinstance(raw, RowIssue):
        return "invalid_row", raw.field, raw.message
    if not has_video(raw):
        return "no_video", "video_path", "no video"
    return "no_answer", "solution", "no answer"


_WORKER: dict[str, Any] = {}


def _load_budget(model: str, family: str | None, image_patch_size: int | None = None) -> Budget:
    from videokr.data.budget import PromptBudget  # reads the checkpoint's files, no transformers

    checked = cast(Family | None, family)  # the CLI restricts --family to the known names
    budget: Budget = PromptBudget.from_model(model, family=checked, image_patch_size=image_patch_size)
    return budget


def _load_probe() -> Probe:
    from videokr.data.videos import probe_video

    return probe_video


def check_row(row: Row, budget: Budget, probe: Probe, max_prompt_length: int) -> tuple[str, str] | None:
    """(reason, detail) when a verl row must be dropped for its video or its prompt length, else None."""
    entry = row["videos"][0]
    cfg = {key: value for key, value in entry.items() if key != "video"}
    verdict = check_video(
        entry["video"], probe, lambda info: (budget.count(row["prompt"], info, cfg), None), max_prompt_length
    )
    if verdict.status == "ok":
        return None
    if verdict.status == "too_long":
        return "too_long", f"prompt has {verdict.length} tokens > max_prompt_length {max_prompt_length}"
    return f"video_{verdict.probe_status}", f"{entry['video']}: {verdict.reason}"


WorkerInit = tuple[str, str | None, int | None, int]  # model, family, image patch size, max prompt length


def _check_rows(init: WorkerInit, rows: list[Row]) -> list[tuple[str, str] | None]:
    # Runs in a pool process or a Ray worker: the budget is loaded once per process (a reused worker keeps it).
    if _WORKER.get("init") != init:
        model, family, patch, max_prompt_length = init
        _WORKER.update(
            init=init, budget=_load_budget(model, family, patch), probe=_load_probe(), max=max_prompt_length
        )
    return [check_row(row, _WORKER["budget"], _WORKER["probe"], _WORKER["max"]) for row in rows]


@dataclass(frozen=True)
class LengthFilter:
    """How to decide over-long / unusable videos: a model to load (per worker) or injected budget and probe."""

    max_prompt_length: int = 16384
    model: str | None = None
    family: str | None = None
    workers: int = 1
    image_patch_size: int | None = None  # verl's data.image_patch_size; None: the processor's own
    budget: Budget | None = None
    probe: Probe | None = None
    ray_address: str | None = None  # probe and count as tasks on this Ray cluster instead of local processes

    def require_counter(self) -> None:
        """Fail early when nothing can count tokens."""
        if self.budget is None and self.model is None:
            raise ConfigError(
                "the length filter needs --model (the checkpoint whose tokenizer counts); or --no-length-filter"
            )

    def verdicts(self, pending: Iterable[_Pending]) -> Iterator[tuple[_Pending, tuple[str, str] | None]]:
        """Each pending row with its drop reason (None to keep), in input order."""
        self.require_counter()
        if self.budget is not None or (self.workers <= 1 and not self.ray_address):
            budget = self.budget or _load_budget(str(self.model), self.family, self.image_patch_size)
            probe = self.probe or _load_probe()
            for item in pending:
                yield item, check_row(item.row, budget, probe, self.max_prompt_length)
            return
        init: WorkerInit = (str(self.model), self.family, self.image_patch_size, self.max_prompt_length)
        taken: deque[_Pending] = deque()  # rows handed out, awaiting their verdict (results come back in order)

        def rows() -> Iterator[Row]:
            for item in pending:
                taken.append(item)
                yield item.row

        check = functools.partial(_check_rows, init)
        for verdict in map_chunks(check, rows(), workers=self.workers, chunk_size=8, ray_address=self.ray_address):
            yield taken.popleft(), verdict


def prepare_rl(
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    video_root: str | os.PathLike[str],
    *,
    val_size: int = 500,
    seed: int = 42,
    style: Style = "compat",
    length_filter: LengthFilter | None = None,
) -> RlResult:
    """Convert a corpus file into DIR/train.parquet and DIR/test.parquet; see the module doc for the rules."""
    out, source = Path(output_dir), os.fspath(input_path)
    if length_filter is not None:
        length_filter.require_counter()
    rows_read, members = _published_count(input_path)
    tests = holdout_ordinals(members, val_size, seed)
    root = Path(video_root).resolve()
    failure: DataError | None = None
    try:
        with atomic_open(out / DROPPED_FILE) as dropped_handle:
            drops = _Dropped(dropped_handle, source)
            try:
                pending = _convert(input_path, root, tests, style, drops)
                counts = _write_splits(out, pending, drops, length_filter, source, members, val_size)
            except DataError as exc:  # the parquet files are discarded, the drop report is kept
                failure = exc
    except OSError as exc:
        raise DataError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    if failure is not None:
        raise failure
    return RlResult(
        out / "train.parquet",
        out / "test.parquet",
        out / DROPPED_FILE,
        rows_read,
        members,
        counts["train"],
        counts["test"],
        dict(drops.reasons),
    )


def _write_splits(
    out: Path,
    pending: Iterator[_Pending],
    drops: _Dropped,
    length_filter: LengthFilter | None,
    source: str,
    members: int,
    val_size: int,
) -> dict[str, int]:
    with (
        atomic_open(out / "train.parquet", "wb") as train_handle,
        atomic_open(out / "test.parquet", "wb") as test_handle,
        _ParquetSink(train_handle, "train") as train,
        _ParquetSink(test_handle, "test") as test,
    ):
        sinks = {"train": train, "test": test}
        verdicts = length_filter.verdicts(pending) if length_filter else ((p, None) for p in pending)
        for item, verdict in verdicts:
            if verdict is None:
                sinks[item.split].add(item.row)
            else:
                reason, detail = verdict
                field_name = "prompt" if reason == "too_long" else "video_path"
                drops.add(item.line, reason, field_name, detail, item.row["extra_info"]["problem_id"])
        for sink in sinks.values():
            sink.close()
        counts = {split: sink.rows for split, sink in sinks.items()}
        _check_not_empty(source, counts["train"], counts["test"], members, val_size)  # inside: no files on failure
    return counts


def _check_not_empty(source: str, train: int, test: int, members: int, val_size: int) -> None:
    if train + test == 0:
        raise DataError(f"{source}: no usable rows; every row is listed with its reason in {DROPPED_FILE}")
    if train == 0:
        raise DataError(
            f"{source}: no training rows: the {members} usable rows all fell in the test split "
            f"(val_size={val_size}); lower --val-size"
        )
