"""Archive extraction: split parts streamed in order, malicious members refused, idempotent, atomic."""

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from videokr.cli import main
from videokr.data.archives import ChainedReader, extract_archives, find_archives
from videokr.errors import DataError


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_special(tar: tarfile.TarFile, name: str, kind: bytes, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    tar.addfile(info)


def make_tar(path: Path, files: dict[str, bytes], specials: tuple[tuple[str, bytes, str], ...] = ()) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            add_file(tar, name, data)
        for name, kind, link in specials:
            add_special(tar, name, kind, link)
    return path


def split(path: Path, size: int) -> list[Path]:
    data = path.read_bytes()
    parts = []
    for index, start in enumerate(range(0, len(data), size)):
        suffix = chr(ord("a") + index // 26) + chr(ord("a") + index % 26)
        part = path.with_name(f"{path.name}.part.{suffix}")
        part.write_bytes(data[start : start + size])
        parts.append(part)
    path.unlink()
    return parts


VIDEOS = {f"videos_0001/clip{i}.mp4": bytes([i]) * (3000 + 17 * i) for i in range(6)}


def test_chained_reader_concatenates_parts(tmp_path: Path) -> None:
    parts = []
    for index, chunk in enumerate([b"abc", b"", b"defg", b"h"]):
        part = tmp_path / f"p{index}"
        part.write_bytes(chunk)
        parts.append(part)
    with ChainedReader(tuple(parts)) as raw:
        assert io.BufferedReader(raw, buffer_size=2).read() == b"abcdefgh"


def test_split_archive_extracts_like_the_whole(tmp_path: Path) -> None:
    archives = tmp_path / "Videos"
    archives.mkdir()
    make_tar(archives / "videos_0000.tar", {"videos_0000/a.mp4": b"a" * 100})
    parts = split(make_tar(archives / "videos_0001.tar", VIDEOS), 4096)
    assert len(parts) > 3
    found = find_archives(archives)
    assert [a.name for a in found] == ["videos_0000.tar", "videos_0001.tar"]
    assert found[1].parts == tuple(parts)
    report = extract_archives(archives, archives, progress=False)
    assert [(r.status, r.members, r.files) for r in report.results] == [("extracted", 1, 1), ("extracted", 6, 6)]
    for name, data in VIDEOS.items():
        assert (archives / name).read_bytes() == data
    assert not report.refused
    assert not list(archives.glob(".*.partial"))


def test_extraction_is_idempotent_and_redone_when_parts_change(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "v.tar", VIDEOS)
    out = tmp_path / "out"
    first = extract_archives(tmp_path, out, progress=False).results[0]
    (out / "videos_0001/clip0.mp4").write_bytes(b"user edit")
    second = extract_archives(tmp_path, out, progress=False).results[0]
    assert (first.status, second.status) == ("extracted", "skipped")
    assert second.files == 6
    assert (out / "videos_0001/clip0.mp4").read_bytes() == b"user edit"
    make_tar(archive, {**VIDEOS, "videos_0001/extra.mp4": b"new"})
    third = extract_archives(tmp_path, out, progress=False).results[0]
    assert (third.status, third.files) == ("extracted", 7)


@pytest.mark.parametrize(
    "files, specials, refused_name",
    [
        pytest.param({"/etc/evil.mp4": b"x"}, (), "/etc/evil.mp4", id="absolute_path"),
        pytest.param({"videos/../../evil.mp4": b"x"}, (), "videos/../../evil.mp4", id="dotdot"),
        pytest.param({}, (("videos/link", tarfile.SYMTYPE, "../../outside"),), "videos/link", id="symlink_outside"),
        pytest.param({}, (("videos/abs", tarfile.SYMTYPE, "/etc/passwd"),), "videos/abs", id="symlink_absolute"),
        pytest.param({}, (("videos/hard", tarfile.LNKTYPE, "../../outside"),), "videos/hard", id="hardlink_outside"),
        pytest.param({}, (("videos/dev", tarfile.CHRTYPE, ""),), "videos/dev", id="char_device"),
        pytest.param({}, (("videos/blk", tarfile.BLKTYPE, ""),), "videos/blk", id="block_device"),
        pytest.param({}, (("videos/fifo", tarfile.FIFOTYPE, ""),), "videos/fifo", id="fifo"),
    ],
)
def test_malicious_members_are_refused_and_the_rest_extracted(
    tmp_path: Path, files: dict[str, bytes], specials: tuple, refused_name: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_tar(src / "bad.tar", {"videos/good.mp4": b"ok", **files}, specials)
    out = tmp_path / "sandbox" / "out"
    report = extract_archives(src, out, progress=False)
    assert [r.member for r in report.refused] == [refused_name]
    assert (out / "videos/good.mp4").read_bytes() == b"ok"
    assert not (tmp_path / "sandbox" / "evil.mp4").exists()
    assert not (tmp_path / "evil.mp4").exists()
    leftovers = {p.relative_to(out).as_posix() for p in out.rglob("*") if ".videokr-extracted" not in p.parts}
    assert leftovers == {"videos", "videos/good.mp4"}


def test_links_inside_the_target_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    specials = (
        ("videos/alias.mp4", tarfile.SYMTYPE, "real.mp4"),
        ("videos/hard.mp4", tarfile.LNKTYPE, "videos/real.mp4"),
    )
    make_tar(src / "links.tar", {"videos/real.mp4": b"data"}, specials)
    out = tmp_path / "out"
    result = extract_archives(src, out, progress=False).results[0]
    assert (result.files, result.refused) == (3, ())
    assert os.readlink(out / "videos/alias.mp4") == "real.mp4"
    assert (out / "videos/hard.mp4").read_bytes() == b"data"


def test_missing_part_marks_the_group_not_the_directory(tmp_path: Path) -> None:
    parts = split(make_tar(tmp_path / "v.tar", VIDEOS), 4096)
    parts[1].unlink()
    make_tar(tmp_path / "w.tar", VIDEOS)
    found = find_archives(tmp_path)
    assert [(a.name, a.problem) for a in found] == [
        ("v.tar", "split archive parts are not contiguous (missing .part.ab)"),
        ("w.tar", ""),
    ]


def test_truncated_archive_fails_without_marker_or_partial_output(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    archive = make_tar(src / "v.tar", VIDEOS)
    archive.write_bytes(archive.read_bytes()[:9000])
    out = tmp_path / "out"
    [result] = extract_archives(src, out, progress=False).results
    assert (result.status, result.members, result.files) == ("failed", 2, 0)
    assert result.reason.startswith("truncated or corrupt archive")
    assert list(out.iterdir()) == []


def _header_offset(data: bytes, index: int) -> int:
    """Byte offset of the `index`-th member header of an uncompressed tar."""
    offset = 0
    for _ in range(index):
        size = tarfile.TarInfo.frombuf(data[offset : offset + 512], "utf-8", "surrogateescape").size
        offset += 512 + -(-size // 512) * 512
    return offset


def _cut_at_member(path: Path, index: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: _header_offset(data, index)])


def _damage_header(path: Path, index: int) -> None:
    data = bytearray(path.read_bytes())
    start = _header_offset(bytes(data), index)
    data[start : start + 16] = b"X" * 16
    path.write_bytes(bytes(data))


def _drop_parts(path: Path, first: int, last: int) -> None:
    for part in split(path, 4096)[first:last]:
        part.unlink()


@pytest.mark.parametrize(
    ("damage", "members", "reason"),
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:9000]), 2, "unexpected end of data", id="cut-mid-member"),
        pytest.param(lambda p: _cut_at_member(p, 3), 3, "no end-of-archive marker", id="cut-at-member-boundary"),
        pytest.param(lambda p: _damage_header(p, 2), 2, "bad checksum", id="damaged-header"),
        pytest.param(lambda p: p.write_bytes(b""), 0, "not a tar archive", id="empty-file"),
        pytest.param(lambda p: p.write_bytes(b"<html>rate limited</html>" * 40), 0, "not a tar", id="not-a-tar"),
        pytest.param(lambda p: _drop_parts(p, 1, 2), 0, "missing .part.ab", id="split-missing-middle-part"),
        # 6 members of 3.5 KB in 4 KB parts: without the last three parts the stream ends inside the sixth member
        pytest.param(lambda p: _drop_parts(p, 5, 8), 5, "unexpected end of data", id="split-missing-last-parts"),
    ],
)
def test_cli_extract_reports_a_bad_archive_extracts_the_rest_and_retries_only_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None], members: int, reason: str
) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    make_tar(src / "a.tar", {"videos_a/x.mp4": b"a" * 700})
    make_tar(src / "c.tar", {"videos_c/x.mp4": b"c" * 700})
    damage(make_tar(src / "b.tar", VIDEOS))
    argv = ["data", "extract", "--archives", str(src), "--out", str(out)]
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert _statuses(printed) == {"a.tar": "extracted", "b.tar": "failed", "c.tar": "extracted"}
    [failure] = [line for line in printed.splitlines() if line.startswith("failed ")]
    assert failure.startswith(f"failed b.tar after {members} members: ") and reason in failure
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4")) == ["videos_a/x.mp4", "videos_c/x.mp4"]
    assert sorted(p.name for p in (out / ".videokr-extracted").iterdir()) == ["a.tar.json", "c.tar.json"]
    assert not list(out.glob(".*.partial"))

    for part in src.glob("b.tar*"):
        part.unlink()
    make_tar(src / "b.tar", VIDEOS)
    assert main(argv) == 0
    assert _statuses(capsys.readouterr().out) == {"a.tar": "skipped", "b.tar": "extracted", "c.tar": "skipped"}
    assert (out / "videos_0001/clip5.mp4").read_bytes() == VIDEOS["videos_0001/clip5.mp4"]


def _statuses(printed: str) -> dict[str, str]:
    rows = [line.split() for line in printed.splitlines()]
    return {row[0]: row[1] for row in rows if row and row[0].endswith(".tar")}


def test_no_archives_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no \*\.tar"):
        extract_archives(tmp_path, tmp_path / "out", progress=False)
