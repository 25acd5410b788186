"""The pieces of decontamination on their own: source ids, question overlap, sequence matching on generated hash
sequences, letterbox cropping and uniform frames, the hash cache, the CLI's --against pairing."""

from pathlib import Path

import numpy as np
import pytest

from videokr.cli import main
from videokr.data.decontam.cache import HashCache
from videokr.data.decontam.frames import HashSettings, VideoHashes, content_box, hash_frames
from videokr.data.decontam.ids import source_ids
from videokr.data.decontam.match import MatchSettings, SequenceIndex, verify
from videokr.data.decontam.questions import QuestionIndex


@pytest.mark.parametrize(
    ("row", "video", "expected"),
    [
        pytest.param(
            {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1"}, None, {"youtube:dQw4w9WgXcQ"}, id="watch-url"
        ),
        pytest.param({"link_selected": "youtu.be/dQw4w9WgXcQ"}, None, {"youtube:dQw4w9WgXcQ"}, id="short-url"),
        pytest.param({"meta": {"src": "youtube.com/shorts/dQw4w9WgXcQ"}}, None, {"youtube:dQw4w9WgXcQ"}, id="nested"),
        pytest.param({"videoID": "fFjv93ACGo8"}, None, {"youtube:fFjv93ACGo8"}, id="videomme-field"),
        pytest.param({"video_id": "not an id"}, None, set(), id="field-not-an-id"),
        pytest.param({}, "videos_0007/fFjv93ACGo8.mp4", {"youtube:fFjv93ACGo8"}, id="file-stem"),
        pytest.param({}, "dl/Flame test demo [fFjv93ACGo8].webm", {"youtube:fFjv93ACGo8"}, id="yt-dlp-name"),
        pytest.param({}, "a/clip_000001.mp4", set(), id="counter-name"),
        pytest.param({}, "a/lecturenote.mp4", set(), id="word-name"),
        pytest.param({"u": "https://vimeo.com/76979871"}, None, {"vimeo:76979871"}, id="vimeo"),
        pytest.param({"u": "bilibili.com/video/BV1xx411c7mD"}, None, {"bilibili:BV1xx411c7mD"}, id="bilibili"),
    ],
)
def test_source_ids_from_fields_urls_and_names(row: dict[str, object], video: str | None, expected: set[str]) -> None:
    assert source_ids(row, video) == expected


def test_question_index_matches_edits_and_reordered_options_not_templates_or_short() -> None:
    options = ("A. red", "B. green", "C. violet")
    index = QuestionIndex(
        [
            ("Which element gives the flame its green colour when the wire is held in the burner?", options),
            ("What happens next?", ()),
            ("What colour is the flame when sodium chloride is heated on the platinum wire?", ()),
        ]
    )
    hit = index.best(
        "which ELEMENT gives the flame its green colour when the loop is held in the burner", options[::-1]
    )
    assert hit is not None and hit[0] == 0 and 0.5 <= hit[1] < 1
    assert (
        index.best(
            "Which element gives the flame its green colour when the wire is held in the burner?", ("A. 1", "B. 2")
        )
        is None
    )
    assert index.best("What happens next?") is None
    assert index.best("What colour is the flame when copper sulfate is heated on the nichrome loop?") is None


def _walk(seed: int, samples: int, scene: int = 6) -> np.ndarray:
    """A hash sequence: a new random picture every `scene` samples, a couple of bits of drift in between."""
    rng = np.random.default_rng(seed)
    out = np.empty(samples, np.uint64)
    value = rng.integers(0, 2**63, dtype=np.uint64)
    for i in range(samples):
        if i % scene == 0:
            value = rng.integers(0, 2**63, dtype=np.uint64)
        value ^= np.uint64(1) << np.uint64(rng.integers(0, 64))
        out[i] = value
    return out


def _hashes(values: np.ndarray, informative: np.ndarray | None = None) -> VideoHashes:
    return VideoHashes(2.0, values, np.ones(len(values), bool) if informative is None else informative)


def _noisy(values: np.ndarray, bits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = values.copy()
    for i in range(len(out)):
        for bit in rng.choice(64, bits, replace=False):
            out[i] ^= np.uint64(1) << np.uint64(bit)
    return out


def test_verify_finds_the_shared_stretch_at_its_offset_despite_noise_and_gaps() -> None:
    target = _walk(1, 60)
    query = np.concatenate([_walk(2, 10), _noisy(target[20:44], 6, 3), _walk(4, 10)])
    query[15] = _walk(5, 1)[0]  # one mismatched sample inside the run
    found = verify(_hashes(query), _hashes(target), 10, MatchSettings())
    assert found is not None
    query_start, target_start, seconds, samples, _ = found
    assert (query_start, target_start) == (5.0, 10.0) and seconds == 12.0 and samples == 23


def test_verify_rejects_a_static_shared_card_and_short_or_uniform_stretches() -> None:
    card = np.full(20, _walk(7, 1)[0])
    query, target = np.concatenate([card, _walk(8, 20)]), np.concatenate([card, _walk(9, 20)])
    assert verify(_hashes(query), _hashes(target), 0, MatchSettings()) is None
    assert verify(_hashes(query), _hashes(target), 0, MatchSettings(min_changes=0)) is not None
    shared = _walk(10, 8)  # 4 s, under min_seconds
    assert verify(_hashes(shared), _hashes(shared), 0, MatchSettings()) is None
    long = _walk(11, 30)
    assert verify(_hashes(long, np.zeros(30, bool)), _hashes(long), 0, MatchSettings()) is None


def test_sequence_index_pairs_each_query_with_its_source_among_distractors() -> None:
    targets = [_walk(100 + i, 40) for i in range(200)]
    index = SequenceIndex([_hashes(t) for t in targets])
    queries = [_noisy(targets[17][5:35], 4, 1), _noisy(targets[123], 8, 2), _walk(999, 40)]
    matches = list(index.match([_hashes(q) for q in queries]))
    assert [(m.query, m.target, m.target_start - m.query_start) for m in matches] == [(0, 17, 2.5), (1, 123, 0.0)]


def test_content_box_crops_letterbox_and_uniform_frames_are_uninformative() -> None:
    rng = np.random.default_rng(0)
    frames = [np.zeros((72, 128), np.uint8) for _ in range(3)]
    for frame in frames[1:]:
        frame[9:63, 16:112] = rng.integers(50, 255, (54, 96))
    assert content_box(frames) == (9, 63, 16, 112)
    hashed = hash_frames(frames, HashSettings())
    assert hashed.informative.tolist() == [False, True, True]


def test_hash_cache_round_trips_and_keys_include_settings(tmp_path: Path) -> None:
    cache = HashCache(tmp_path)
    value = _hashes(_walk(1, 5), np.array([True, False, True, True, False]))
    cache.put("abc:" + HashSettings().key, value)
    again = HashCache(tmp_path).get("abc:" + HashSettings().key)
    assert again is not None and again.hashes.tolist() == value.hashes.tolist()
    assert again.informative.tolist() == value.informative.tolist() and again.rate == 2.0
    assert HashSettings(rate=1.0).key != HashSettings().key
    assert cache.get("abc:" + HashSettings(rate=1.0).key) is None


def test_cli_against_video_root_must_follow_an_against(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["data", "decontaminate", "--input", "x.jsonl", "--against-video-root", "d", "--output-dir", str(tmp_path)]
    with pytest.raises(SystemExit):
        main(argv)
    assert "must follow the --against" in capsys.readouterr().err
