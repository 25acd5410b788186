"""Safe, idempotent extraction of VideoKR's video archives (`*.tar` and split `*.tar.part.aa, .ab, ...`).

Split parts are streamed in order through one file-like object (no concatenated copy on disk) into
tarfile's stream mode. Every member is checked with the stdlib's `data` extraction filter: absolute paths,
`..`, links pointing outside the target, device files and fifos are refused and reported, never written.
Members are extracted into a staging directory beside the target and renamed into place; a marker file
written last makes a finished archive a no-op on the next run (PROTOCOL.md section 1).

Each archive (a `.tar` or one group of split parts) is a unit: a truncated or corrupt one, or a split group
with a part missing, is reported as failed with the members read before the failure, and nothing of it is
kept; the others are still extracted, and a re-run retries only the units that have no marker.
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
from typing import Any, Literal, Self

from tqdm import tqdm

from videokr.errors import DataError
from videokr.io import write_json

log = logging.getLogger(__name__)

PART_RE = re.compile(r"^(?P<base>.+\.tar)\.part\.(?P<suffix>[a-z]+)$")
MARKER_DIR = ".videokr-extracted"
Status = Literal["extracted", "skipped", "failed"]


class ArchiveError(DataError):
    """One archive could not be extracted; `members` were read before the failure (none of them is kept)."""

    def __init__(self, archive: str, members: int, reason: str) -> None:
        super().__init__(f"{archive}: {reason} (after {members} members)")
        self.archive, self.members, self.reason = archive, members, reason


@dataclass(frozen=True)
class Archive:
    """One logical tar archive: a single `.tar` file or its ordered parts."""

    name: str
    parts: tuple[Path, ...]
    problem: str = ""  # why the unit cannot be extracted as found (a missing part), else ""

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
    status: Status
    members: int
    files: int
    refused: tuple[RefusedMember, ...] = ()
    reason: str = ""  # why a failed archive failed


@dataclass
class ExtractReport:
    """Results for every archive of a directory."""

    results: list[ExtractResult] = field(default_factory=list)

    @property
    def refused(self) -> list[RefusedMember]:
        """Every refused member, across archives."""
        return [item for result in self.results for item in result.refused]

    @property
    def failed(self) -> list[ExtractResult]:
        """The archives that could not be extracted (a re-run retries them)."""
        return [result for result in self.results if result.status == "failed"]


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
    """Every archive in `directory`, split parts grouped and ordered; a group with a gap carries its `problem`."""
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
        whole = next((a for a in singles if a.name == base), None)
        if whole is not None:
            singles.remove(whole)
            problem = "both a whole archive and split parts exist; keep one"
            singles.append(Archive(base, whole.parts + tuple(parts), problem))
            continue
        singles.append(Archive(base, tuple(parts), _gap(parts)))
    return sorted(singles, key=lambda a: a.name)


def _gap(parts: list[Path]) -> str:
    """'' when the sorted parts run aa, ab, ... without a hole, else which part is missing."""
    expected = _part_suffixes(len(parts), len(_suffix(parts[0])))
    missing = sorted(set(expected) - {_suffix(p) for p in parts})
    return f"split archive parts are not contiguous (missing .part.{missing[0]})" if missing else ""


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
        try:
            report.results.append(extract_archive(archive, target))
        except ArchiveError as exc:
            log.error("%s", exc)
            report.results.append(ExtractResult(archive.name, "failed", exc.members, 0, reason=exc.reason))
    return report


def _marker_path(target: Path, archive: Archive) -> Path:
    return target / MARKER_DIR / f"{archive.name}.json"


def extract_archive(archive: Archive, out_dir: str | os.PathLike[str]) -> ExtractResult:
    """Extract one archive atomically (staging dir, rename, marker last); a finished archive is skipped.

    Raises ArchiveError when the archive is incomplete, truncated or corrupt, or cannot be written out.
    """
    if archive.problem:
        raise ArchiveError(archive.name, 0, archive.problem)
    target = Path(out_dir)
    marker = _marker_path(target, archive)
    done = _read_marker(marker)
    if done is not None and done.get("parts") == archive.fingerprint():
        refused = tuple(RefusedMember(**item) for item in done.get("refused", []))
        return ExtractResult(archive.name, "skipped", done["members"], done["files"], refused)
    try:
        members, files, refused_list = _extract_staged(archive, target)
    except OSError as exc:  # a part that cannot be read, a full disk: this unit fails, the next one is tried
        raise ArchiveError(archive.name, 0, f"cannot extract: {exc}") from exc
    refused = tuple(refused_list)
    result = ExtractResult(archive.name, "extracted", members, files, refused)
    payload = {"parts": archive.fingerprint(), **{k: v for k, v in asdict(result).items() if k != "status"}}
    write_json(marker, payload)
    for item in refused:
        log.warning("%s: refused member %r: %s", item.archive, item.member, item.reason)
    return result


def _extract_staged(archive: Archive, target: Path) -> tuple[int, int, list[RefusedMember]]:
    """Extract into a staging directory inside `target`, then move the files into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".partial", dir=target))
    try:
        members, files, refused = _extract_to(archive, staging)
        on_disk = sum(1 for _ in _staged_files(staging))
        if on_disk != files:
            raise ArchiveError(archive.name, members, f"{files} members extracted but {on_disk} files on disk")
        _move_into(staging, target, archive.name, members)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return members, files, refused


def _read_marker(marker: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _extract_to(archive: Archive, staging: Path) -> tuple[int, int, list[RefusedMember]]:
    """Stream the archive into `staging`; returns (members read, files and links written, refused members)."""
    members = files = 0
    refused: list[RefusedMember] = []
    with ChainedReader(archive.parts) as raw, io.BufferedReader(raw, buffer_size=1 << 20) as stream:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|*", tarinfo=_StrictTarInfo)  # noqa: SIM115 - `with tar` below
        except (tarfile.TarError, EOFError) as exc:
            raise ArchiveError(archive.name, 0, f"not a tar archive ({exc})") from exc
        with tar:
            try:
                for member in tar:
                    refusal = _extract_member(tar, member, staging, archive.name)
                    if refusal is not None:
                        refused.append(refusal)
                    elif not member.isdir():
                        files += 1
                    members += 1  # counted once read in full: a failure reports the members done before it
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise ArchiveError(archive.name, members, f"truncated or corrupt archive ({exc})") from exc
    return members, files, refused


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path, archive: str
) -> RefusedMember | None:
    """Extract one member into `staging`, or say why it was refused."""
    reason = _refusal(member, staging)
    if reason:
        return RefusedMember(archive, member.name, reason)
    try:
        tar.extract(member, staging, set_attrs=False, filter="data")
    except (tarfile.ExtractError, tarfile.FilterError, tarfile.StreamError, KeyError) as exc:
        # e.g. a hard link to a member that was refused or not yet seen in the stream
        return RefusedMember(archive, member.name, f"cannot extract: {exc}")
    return None


class _StrictTarInfo(tarfile.TarInfo):
    """Reads headers as the stdlib does, but a missing, cut or damaged header is an error, not the end.

    The stdlib's reader stops without complaint at such a header past the first member, so an archive cut at a
    member boundary (a split group short of its last parts) or with a damaged header would pass as complete.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        """The next header, or ReadError naming its offset when it is missing, cut short or corrupt."""
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.EOFHeaderError:  # type: ignore[attr-defined]  # the end-of-archive blocks: a clean end
            raise
        except tarfile.HeaderError as exc:
            reason = "no end-of-archive marker" if str(exc) == "empty header" else str(exc)
            raise tarfile.ReadError(f"{reason} at byte {tarfile_.offset}") from exc


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


def _move_into(staging: Path, target: Path, archive: str, members: int) -> None:
    """Rename every staged file (and link) into `target`, keeping the relative layout."""
    for directory, names in _walk(staging):
        relative = directory.relative_to(staging)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            destination = target / relative / name
            if destination.is_dir() and not destination.is_symlink():
                raise ArchiveError(archive, members, f"{destination}: a directory is in the way of an archive member")
            os.replace(directory / name, destination)
