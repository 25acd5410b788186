"""download_datasets with an injected downloader over a local directory laid out like the hub repos."""

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from videokr.data.download import download_datasets, parse_what
from videokr.errors import DataError


def fake_hub(tmp_path: Path) -> Path:
    """minuzero/VideoKR-Train and -Eval as they are published (PROTOCOL.md section 1), videos as tiny bytes."""
    hub = tmp_path / "hub"
    train = hub / "minuzero/VideoKR-Train"
    (train / "Videos").mkdir(parents=True)
    (train / "VideoKR-RL-114K.jsonl").write_text('{"problem_id": "1", "video_path": "videos_0000/a.mp4"}\n')
    (train / "VideoKR-COT-201K.jsonl").write_text('{"problem_id": "2", "video_path": "videos_0001/b.mp4"}\n')
    (train / "notes.bin").write_bytes(b"not wanted")
    for index, name in enumerate(("videos_0000/a.mp4", "videos_0001/b.mp4")):
        with tarfile.open(train / "Videos" / f"videos_000{index}.tar", "w") as tar:
            info = tarfile.TarInfo(name)
            info.size = 4096
            tar.addfile(info, io.BytesIO(bytes([index]) * 4096))
    whole = (train / "Videos/videos_0001.tar").read_bytes()
    (train / "Videos/videos_0001.tar").unlink()
    for suffix, start in (("aa", 0), ("ab", 5000)):
        (train / f"Videos/videos_0001.tar.part.{suffix}").write_bytes(
            whole[start : start + 5000] if suffix == "aa" else whole[start:]
        )
    evalrepo = hub / "minuzero/VideoKR-Eval"
    (evalrepo / "eval_videos").mkdir(parents=True)
    (evalrepo / "VideoKR_eval.jsonl").write_text('{"id": "e1", "video_path": "eval_videos/e1.mp4"}\n')
    (evalrepo / "eval_videos/e1.mp4").write_bytes(b"\x00" * 10)
    return hub


class LocalHub:
    """A snapshot_download double: copies files matching allow_patterns from the local hub, records calls."""

    def __init__(self, hub: Path) -> None:
        self.hub = hub
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> str:
        from huggingface_hub.utils import filter_repo_objects

        self.calls.append(kwargs)
        repo = self.hub / kwargs["repo_id"]
        files = [p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()]
        for rel in filter_repo_objects(files, allow_patterns=kwargs["allow_patterns"]):
            target = Path(kwargs["local_dir"]) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / rel, target)
        return kwargs["local_dir"]


def test_download_fetches_both_repos_and_extracts_archives(tmp_path: Path) -> None:
    hub = LocalHub(fake_hub(tmp_path))
    root = tmp_path / "data"
    result = download_datasets(root, "train,eval", downloader=hub)
    assert [(c["repo_id"], c["repo_type"]) for c in hub.calls] == [
        ("minuzero/VideoKR-Train", "dataset"),
        ("minuzero/VideoKR-Eval", "dataset"),
    ]
    assert hub.calls[0]["local_dir"] == str(root / "VideoKR-Train")
    assert "Videos/*.tar.part.*" in hub.calls[0]["allow_patterns"]
    train = root / "VideoKR-Train"
    assert (train / "VideoKR-RL-114K.jsonl").is_file()
    assert not (train / "notes.bin").exists()
    assert (train / "Videos/videos_0000/a.mp4").read_bytes() == b"\x00" * 4096
    assert (train / "Videos/videos_0001/b.mp4").read_bytes() == b"\x01" * 4096
    assert [r.status for r in result.extracted["train"].results] == ["extracted", "extracted"]
    assert (root / "VideoKR-Eval/eval_videos/e1.mp4").is_file()
    again = download_datasets(root, ["train"], downloader=hub)
    assert [r.status for r in again.extracted["train"].results] == ["skipped", "skipped"]


def test_download_failure_is_one_clear_error(tmp_path: Path) -> None:
    def offline(**kwargs: Any) -> str:
        raise ConnectionError("hub unreachable")

    with pytest.raises(DataError, match="download of minuzero/VideoKR-Eval failed: ConnectionError"):
        download_datasets(tmp_path, "eval", downloader=offline)


@pytest.mark.parametrize(
    "what, expected",
    [pytest.param("train,eval", ["train", "eval"], id="both"), pytest.param(" eval ", ["eval"], id="spaces")],
)
def test_parse_what(what: str, expected: list[str]) -> None:
    assert parse_what(what) == expected


@pytest.mark.parametrize("what", [pytest.param("test", id="unknown"), pytest.param("", id="empty")])
def test_parse_what_rejects(what: str) -> None:
    with pytest.raises(DataError):
        parse_what(what)
