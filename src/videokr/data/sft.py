"""`videokr data prepare-sft`: a CoT corpus file -> LLaMA-Factory sharegpt JSON + dataset_info.json (PROTOCOL.md 4).

Rows are streamed: the JSON array is written entry by entry into a temp file that replaces the output only
when every row has been read, so memory stays flat and a killed run leaves no half file. Rows that cannot be
used (unreadable row or text that is not valid Unicode, no question or answer, empty think, no video, a missing
video file with `skip_missing_videos`) are skipped and listed, with file, line, field and reason, in `skipped.jsonl`.

Each entry is written as the very bytes of `json.dumps(entry.to_dict(), ensure_ascii=False)` (the file stays
byte-identical to what videokr always wrote) but built faster: a fixed frame around its three strings, each
escaped by orjson, which escapes exactly as json does with ensure_ascii=False.
"""

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from videokr.data.read import read_samples, require_file, resolve_video_path
from videokr.errors import DataError
from videokr.io import atomic_open, write_json
from videokr.prompts import Style, render_prompt, render_sft_target
from videokr.records import RowIssue, Sample

logger = logging.getLogger(__name__)

DATASET_NAME = "videokr_train"
DATA_FILE = "videokr_train.json"
SKIPPED_FILE = "skipped.jsonl"

DATASET_INFO_ENTRY: dict[str, Any] = {
    "file_name": DATA_FILE,
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "videos": "videos"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}


@dataclass(frozen=True)
class SftResult:
    """What prepare-sft wrote: paths, counts and skip reasons."""

    output: Path
    dataset_info: Path
    skipped_report: Path
    written: int
    skipped: int
    reasons: dict[str, int] = field(default_factory=dict)  # skipped rows per offending field


# `json.dumps(SftEntry.to_dict(), ensure_ascii=False)` with its three strings left out (json's ", " and ": ").
_ENTRY_FRAME = b'{"messages": [{"role": "user", "content": %b}, {"role": "assistant", "content": %b}], "videos": [%b]}'


@dataclass(frozen=True)
class SftEntry:
    """One sharegpt entry: the user prompt (one `<video>`), the CoT target and the video path."""

    prompt: str
    target: str
    video: str

    def to_dict(self) -> dict[str, Any]:
        """The entry as LLaMA-Factory reads it."""
        return {
            "messages": [{"role": "user", "content": self.prompt}, {"role": "assistant", "content": self.target}],
            "videos": [self.video],
        }

    def to_json(self) -> bytes:
        """`json.dumps(self.to_dict(), ensure_ascii=False)` as UTF-8 bytes.

        >>> SftEntry("<video>Q?", "é", "v.mp4").to_json().decode()
        '{"messages": [{"role": "user", "content": "<video>Q?"}, {"role": "assistant", "content": "é"}], "videos": ["v.mp4"]}'
        """
        return _ENTRY_FRAME % (_json_string(self.prompt), _json_string(self.target), _json_string(self.video))


def _json_string(text: str) -> bytes:
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:  # a lone surrogate (read_samples rejects them): fails just as json's text would
        return json.dumps(text, ensure_ascii=False).encode("utf-8")


def sft_entry(sample: Sample, video: str, style: Style = "compat") -> SftEntry:
    """The sharegpt entry of `sample` with `video` as its video path."""
    return SftEntry(render_prompt(sample, "sft", style), render_sft_target(sample), video)


def _unusable(sample: Sample) -> tuple[str, str] | None:
    if not sample.think:
        return "think", "empty think"
    if not sample.video_path:
        return "video_path", "no video"
    return None


def _video_for(sample: Sample, video_root: Path | None) -> str:
    assert sample.video_path is not None
    if video_root is None:
        return sample.video_path  # LLaMA-Factory joins relative media paths with its dataset_dir
    return resolve_video_path(video_root, sample.video_path)


def _video_exists(video: str, output_dir: Path) -> bool:
    return (output_dir / video).is_file()  # an absolute `video` replaces output_dir


class _Skips:
    """Streams skipped rows to the report and counts reasons."""

    def __init__(self, handle: IO[str], source: str) -> None:
        self.handle, self.source, self.reasons = handle, source, Counter[str]()

    def add(self, line: int, field_name: str, reason: str) -> None:
        self.reasons[field_name] += 1  # per field: the messages themselves carry row details
        record = {"file": self.source, "line": line, "field": field_name, "reason": reason}
        self.handle.write(json.dumps(record) + "\n")  # ASCII escapes: a report line can always be written


def prepare_sft(
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    video_root: str | os.PathLike[str] | None = None,
    skip_missing_videos: bool = False,
    style: Style = "compat",
) -> SftResult:
    """Convert a CoT corpus file into DIR/videokr_train.json and DIR/dataset_info.json; see the module doc."""
    out = Path(output_dir)
    root = Path(video_root).resolve() if video_root is not None else None
    source = os.fspath(require_file(input_path))
    failure: DataError | None = None
    try:
        with atomic_open(out / SKIPPED_FILE) as skipped_handle:
            skips = _Skips(skipped_handle, source)
            try:
                written = _write_entries(out / DATA_FILE, input_path, skips, root, skip_missing_videos, style)
            except DataError as exc:  # no data file; the skip report is kept
                failure = exc
        if failure is not None:
            raise failure
        info_path = out / "dataset_info.json"
        write_json(info_path, _merged_dataset_info(info_path))
    except OSError as exc:
        raise DataError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    skipped = sum(skips.reasons.values())
    if skipped:
        logger.warning("skipped %d of %d rows; see %s", skipped, skipped + written, out / SKIPPED_FILE)
    return SftResult(out / DATA_FILE, info_path, out / SKIPPED_FILE, written, skipped, dict(skips.reasons))


def _write_entries(
    target: Path,
    input_path: str | os.PathLike[str],
    skips: _Skips,
    root: Path | None,
    skip_missing_videos: bool,
    style: Style,
) -> int:
    written = 0
    with atomic_open(target, "wb") as handle:
        handle.write(b"[")
        for line, item in read_samples(input_path, progress="prepare-sft"):
            if isinstance(item, RowIssue):
                skips.add(line, item.field, item.message)
                continue
            problem = _unusable(item)
            if problem is not None:
                skips.add(line, *problem)
                continue
            video = _video_for(item, root)
            if skip_missing_videos and not _video_exists(video, target.parent):
                skips.add(line, "video_path", f"video file not found: {video}")
                continue
            handle.write(b",\n" if written else b"\n")
            handle.write(sft_entry(item, video, style).to_json())
            written += 1
        if written == 0:
            raise DataError(f"{skips.source}: no usable rows; each is listed with its reason in {SKIPPED_FILE}")
        handle.write(b"\n]\n")
    return written


def _merged_dataset_info(path: Path) -> dict[str, Any]:
    # Keep other datasets a user registered in the same directory; ours is replaced.
    info: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            info = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            logger.warning("%s is not valid JSON; rewriting it", path)
    info[DATASET_NAME] = DATASET_INFO_ENTRY
    return info
