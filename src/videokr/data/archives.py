"""Safe, idempotent extraction of VideoKR's video archives (`*.tar` and split `*.tar.part.aa, .ab, ...`).

Split parts are streamed in order through one file-like object (no concatenated copy on disk) into
tarfile's stream mode. Every member is checked with the stdlib's `data` extraction filter: absolute paths,
`..`, links pointing outside the target, device files and fifos are refused and reported, never written.
Members are extracted into a staging directory beside the target and renamed into place; a marker file
written last makes a finished archive a no-op on the next run (PROTOCOL.md section 1).
"""

import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from videokr.errors import DataError
from videokr.io import write_json

log = logging.getLogger(__name__)

PART_RE = re.compile(r"^(?P<base>.+\.tar)\.part\.(?P<suffix>[a-z]+)$")
MARKER_DIR = ".videokr-extracted"


@dataclass(frozen=True)
class Archive:
    """One logical tar archive: a single `.tar` file or its ordered parts."""

    name: str
    parts: tuple[Path, ...]

    def fingerprint(self) -> list[list[Any]]:
        """(file name, size, mtime) of every part: a re-downloaded or changed archive is extracted again."""
        return [[part.name, (st := part.stat()).st_size, st.st_mtime_ns] for part in self.parts]


@dataclass(frozen=True)
class RefusedMember:
    """A member that would land outside the target or is not a plain file, directory or inside link."""

    archive: str
    member: str
    reason: str


@dataclass(frozen=True)
class ExtractResult:
    """What happened to one archive."""

    archive: str
    status: str  # "extracted" | "skipped"
    members: int
    files: int
    refused: tuple[RefusedMember, ...] = ()


@dataclass
class ExtractReport:
    """Results for every archive of a directory."""

    results: list[ExtractResult] = field(default_factory=list)

    @property
    def refused(self) -> list[RefusedMember]:
        """Every refused member, across archives."""
        return [item for result in self.results for item in result.refused]


class ChainedReader(io.RawIOBase):
    """A read-only stream over several files in order, as if they were concatenated."""

    def __init__(self, paths: tuple[Path, ...]) -> None:
        super().__init__()
        self._paths = list(paths)
        self._index = 0
        self._handle: io.BufferedReader | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` from the current part, moving on to the next part at its end."""
        view = memoryview(buffer).cast("B")
        while self._index < len(self._paths):
            if self._handle is None:
                self._handle = open(self._paths[self._index], "rb")  # noqa: SIM115 - closed when exhausted
            read = self._handle.readinto(view)
            if read:
                return read
            self._handle.close()
            self._handle = None
            self._index += 1
        return 0

    def close(self) -> None:
        """Close the open part."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        super().close()


def find_archives(directory: str | os.PathLike[str]) -> list[Archive]:
    """Every archive in `directory`, split parts grouped and ordered; a gap in the part sequence is an error."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"{root}: archive directory not found")
    singles: list[Archive] = []
    groups: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file():
            continue
        match = PART_RE.match(path.name)
        if match:
            groups.setdefault(match["base"], []).append(path)
        elif path.name.endswith(".tar"):
            singles.append(Archive(path.name, (path,)))
    for base, parts in groups.items():
        parts.sort(key=lambda p: (len(_suffix(p)), _suffix(p)))
        expected = _part_suffixes(len(parts), len(_suffix(parts[0])))
        found = [_suffix(p) for p in parts]
        if found != expected:
            missing = sorted(set(expected) - set(found))
            raise DataError(f"{root / base}: split archive parts are not contiguous (missing .part.{missing[0]})")
        if base in {a.name for a in singles}:
            raise DataError(f"{root / base}: both a whole archive and split parts exist; keep one")
        singles.append(Archive(base, tuple(parts)))
    return sorted(singles, key=lambda a: a.name)


def _suffix(path: Path) -> str:
    return path.name.rsplit(".", 1)[1]


def _part_suffixes(count: int, width: int) -> list[str]:
    """aa, ab, ..., az, ba, ... as `split` names parts."""
    out = []
    for index in range(count):
        letters = []
        for _ in range(width):
            index, rem = divmod(index, 26)
            letters.append(chr(ord("a") + rem))
        out.append("".join(reversed(letters)))
    return out


def extract_archives(
    archives_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], progress: bool = True
) -> ExtractReport:
    """Extract every archive of `archives_dir` into `out_dir`, skipping those already done."""
    archives = find_archives(archives_dir)
    if not archives:
        raise DataError(f"{archives_dir}: no *.tar or *.tar.part.* archives found")
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    report = ExtractReport()
    for archive in tqdm(archives, desc="extract", unit="archive", disable=not progress):
        report.results.append(extract_archive(archive, target))
    return report


def _marker_path(target: Path, archive: Archive) -> Path:
    return target / MARKER_DIR / f"{archive.name}.json"


def extract_archive(archive: Archive, out_dir: str | os.PathLike[str]) -> ExtractResult:
    """Extract one archive atomically (staging dir, rename, marker last); a finished archive is skipped."""
    target = Path(out_dir)
    marker = _marker_path(target, archive)
    done = _read_marker(marker)
    if done is not None and done.get("parts") == archive.fingerprint():
        refused = tuple(RefusedMember(**item) for item in done.get("refused", []))
        return ExtractResult(archive.name, "skipped", done["members"], done["files"], refused)
    staging = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".partial", dir=target))
    try:
        members, files, refused_list = _extract_to(archive, staging)
        on_disk = sum(1 for _ in _staged_files(staging))
        if on_disk != files:
            raise DataError(f"{archive.name}: {files} members extracted but {on_disk} files on disk")
        _move_into(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    refused = tuple(refused_list)
    result = ExtractResult(archive.name, "extracted", members, files, refused)
    payload = {"parts": archive.fingerprint(), **{k: v for k, v in asdict(result).items() if k != "status"}}
    write_json(marker, payload)
    for item in refused:
        log.warning("%s: refused member %r: %s", item.archive, item.member, item.reason)
    return result


def _read_marker(marker: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _extract_to(archive: Archive, staging: Path) -> tuple[int, int, list[RefusedMember]]:
    """Stream the archive into `staging`; returns (members seen, files and links written, refused members)."""
    members = files = 0
    refused: list[RefusedMember] = []
    with ChainedReader(archive.parts) as raw, io.BufferedReader(raw, buffer_size=1 << 20) as stream:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 - closed by the `with tar` below
        except tarfile.TarError as exc:
            raise DataError(f"{archive.name}: not a tar archive ({exc})") from exc
        with tar:
            try:
                for member in tar:
                    members += 1
                    reason = _refusal(member, staging)
                    if reason:
                        refused.append(RefusedMember(archive.name, member.name, reason))
                        continue
                    try:
                        tar.extract(member, staging, set_attrs=False, filter="data")
                    except (tarfile.ExtractError, tarfile.FilterError, tarfile.StreamError, KeyError) as exc:
                        # e.g. a hard link to a member that was refused or not yet seen in the stream
                        refused.append(RefusedMember(archive.name, member.name, f"cannot extract: {exc}"))
                        continue
                    files += 0 if member.isdir() else 1
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise DataError(
                    f"{archive.name}: truncated or corrupt archive after {members} members ({exc})"
                ) from exc
    return members, files, refused


def _refusal(member: tarfile.TarInfo, staging: Path) -> str:
    """Why `member` must not be extracted ('' when it is safe)."""
    if member.isdev() or member.isfifo():
        return "device file or fifo"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return f"unsupported member type {member.type!r}"
    # The stdlib filter would silently strip a leading "/"; VideoKR archives never need one, so refuse it.
    if member.name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member.name):
        return "absolute path"
    if ".." in re.split(r"[/\\]", member.name):
        return "path contains '..'"
    try:
        tarfile.data_filter(member, str(staging))
    except tarfile.FilterError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _walk(staging: Path) -> Iterator[tuple[Path, list[str]]]:
    """(directory, entries to move) under `staging`; links to directories count as entries, not directories."""
    for dirpath, dirnames, filenames in os.walk(staging):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        yield Path(dirpath), filenames + links


def _staged_files(staging: Path) -> Iterator[Path]:
    for directory, names in _walk(staging):
        for name in names:
            yield directory / name


def _move_into(staging: Path, target: Path) -> None:
    """Rename every staged file (and link) into `target`, keeping the relative layout."""
    for directory, names in _walk(staging):
        relative = directory.relative_to(staging)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            destination = target / relative / name
            if destination.is_dir() and not destination.is_symlink():
                raise DataError(f"{destination}: a directory is in the way of an archive member")
            os.replace(directory / name, destination)
