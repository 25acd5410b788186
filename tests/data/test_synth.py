"""The demo corpus generator: valid VideoKR rows, answers that need the clip, disjoint eval clips, blank clips."""

import json
from pathlib import Path

import numpy as np
import pytest

from videokr.data.synth import FLAMES, SKILLS, DemoCorpus, answer_value, generate_demo_corpus
from videokr.data.validate import validate_file
from videokr.records import Sample
from videokr.tiny.frames import read_frames

SMALL = {"n_train": 24, "n_rl": 12, "n_eval": 18, "n_caption": 6, "seed": 3}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    return generate_demo_corpus(tmp_path_factory.mktemp("demo") / "corpus", **SMALL)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def split_files(corpus: DemoCorpus) -> dict[str, Path]:
    return {"sft": corpus.sft_file, "rl": corpus.rl_file, "eval": corpus.eval_file}


@pytest.mark.parametrize("split", ["sft", "rl", "eval"])
def test_split_file_passes_validation_with_no_issue(corpus: DemoCorpus, split: str) -> None:
    result = validate_file(split_files(corpus)[split], progress=False)
    assert result.rows == SMALL[{"sft": "n_train", "rl": "n_rl", "eval": "n_eval"}[split]]
    assert result.issues == ()


@pytest.mark.parametrize(
    ("split", "has_think"),
    [
        pytest.param("sft", True, id="cot-has-think"),
        pytest.param("rl", False, id="rl"),
        pytest.param("eval", False, id="eval"),
    ],
)
def test_rows_are_canonical_records_with_existing_clips(corpus: DemoCorpus, split: str, has_think: bool) -> None:
    for row in rows(split_files(corpus)[split]):
        sample = Sample.from_raw(row)
        assert sample.video_path is not None and not Path(sample.video_path).is_absolute()
        assert (corpus.video_root / sample.video_path).is_file()
        assert (sample.think is not None) == has_think
        assert sample.skill in SKILLS and sample.subject and sample.dataset and sample.discipline
        if sample.is_multiple_choice:
            assert len(sample.options) == 4 and len(set(sample.options)) == 4
            assert sample.solution in "ABCD" and len(sample.solution) == 1
        else:
            assert sample.options == ()


@pytest.mark.parametrize("split", ["sft", "rl", "eval"])
def test_every_split_covers_both_types_and_all_skills(corpus: DemoCorpus, split: str) -> None:
    samples = [Sample.from_raw(row) for row in rows(split_files(corpus)[split])]
    assert {s.problem_type for s in samples} == {"multiple choice", "open-ended"}
    assert {s.skill for s in samples} == set(SKILLS)


def test_eval_clips_are_never_used_for_training(corpus: DemoCorpus) -> None:
    train_videos = {r["video_path"] for r in rows(corpus.sft_file) + rows(corpus.rl_file) + rows(corpus.caption_file)}
    eval_videos = {r["video_path"] for r in rows(corpus.eval_file)}
    assert eval_videos and train_videos
    assert not eval_videos & train_videos


def flame_seen(path: Path) -> str:
    """The knowledge-bank colour nearest to the mean of the clip's bright pixels (measured from the pixels)."""
    frames, _ = read_frames(path, 4)
    bright = frames[frames.max(axis=-1) > 150].astype(float)
    mean = bright.mean(axis=0)
    return min(FLAMES, key=lambda f: float(np.sum((np.array(f.rgb) - mean) ** 2))).colour


@pytest.mark.parametrize("split", ["sft", "eval"])
def test_answer_is_what_the_clip_shows_through_the_knowledge_bank(corpus: DemoCorpus, split: str) -> None:
    by_colour = {f.colour: f for f in FLAMES}
    for row in rows(split_files(corpus)[split]):
        sample = Sample.from_raw(row)
        expected = answer_value(by_colour[flame_seen(corpus.video_root / sample.video_path)], sample.skill)
        if sample.is_multiple_choice:
            chosen = next(line for line in sample.options if line.startswith(sample.solution + ". "))
            assert chosen == f"{sample.solution}. {expected}"
        else:
            assert sample.solution == expected


def test_colours_are_balanced_over_eval_clips(corpus: DemoCorpus) -> None:
    colours = [flame_seen(corpus.video_root / p) for p in sorted({r["video_path"] for r in rows(corpus.eval_file)})]
    counts = [colours.count(f.colour) for f in FLAMES]
    assert max(counts) - min(counts) <= 1


def test_blank_clips_mirror_eval_clips_with_black_frames(corpus: DemoCorpus) -> None:
    assert corpus.blank_video_root is not None
    for path in {r["video_path"] for r in rows(corpus.eval_file)}:
        blank, _ = read_frames(corpus.blank_video_root / path, 4)
        real, _ = read_frames(corpus.video_root / path, 4)
        assert blank.shape == real.shape
        assert blank.max() <= 20  # black after yuv420p encoding
        assert real.max() > 150


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    args = {**SMALL, "n_train": 6, "n_rl": 3, "n_eval": 6, "n_caption": 3}
    first = generate_demo_corpus(tmp_path / "a", **args)
    second = generate_demo_corpus(tmp_path / "b", **args)
    other = generate_demo_corpus(tmp_path / "c", **{**args, "seed": args["seed"] + 1})
    assert tree_bytes(first.root) == tree_bytes(second.root)
    assert first.sft_file.read_bytes() != other.sft_file.read_bytes()


def test_without_blank_no_blank_tree_is_written(tmp_path: Path) -> None:
    made = generate_demo_corpus(tmp_path / "c", n_train=3, n_rl=0, n_eval=3, n_caption=0, blank=False)
    assert made.blank_video_root is None
    assert not (tmp_path / "c" / "blank").exists()
    assert made.rl_file.read_text() == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"n_train": 0}, id="no-train"),
        pytest.param({"n_eval": 0}, id="no-eval"),
        pytest.param({"rows_per_video": 0}, id="zero-rows-per-video"),
        pytest.param({"n_options": 7}, id="more-options-than-the-bank"),
        pytest.param({"n_options": 1}, id="one-option"),
    ],
)
def test_bad_sizes_are_refused(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate_demo_corpus(tmp_path / "c", **kwargs)


@pytest.mark.parametrize(
    ("order", "in_bank_order"),
    [
        pytest.param({}, True, id="default-is-fixed"),
        pytest.param({"option_order": "fixed"}, True, id="fixed"),
        pytest.param({"option_order": "shuffled"}, False, id="shuffled"),
    ],
)
def test_option_order_follows_the_knowledge_bank_only_when_fixed(
    tmp_path: Path, order: dict, in_bank_order: bool
) -> None:
    made = generate_demo_corpus(tmp_path / "c", n_train=12, n_rl=0, n_eval=3, n_caption=0, mc_fraction=1.0, **order)
    rank = {answer_value(f, s): i for s in SKILLS for i, f in enumerate(FLAMES)}
    sorted_rows = []
    for row in rows(made.sft_file):
        positions = [rank[line.split(". ", 1)[1]] for line in row["options"]]
        sorted_rows.append(positions == sorted(positions))
    assert len(sorted_rows) == 12
    # shuffled: each row is in bank order with probability 1/24, so 12 sorted rows would mean no shuffling
    assert all(sorted_rows) if in_bank_order else not all(sorted_rows)


def test_six_options_list_the_whole_bank_so_the_letter_follows_the_colour(tmp_path: Path) -> None:
    made = generate_demo_corpus(
        tmp_path / "c", n_train=12, n_rl=6, n_eval=12, n_caption=0, mc_fraction=1.0, n_options=6
    )
    for row in rows(made.eval_file) + rows(made.rl_file):
        assert [line.split(". ", 1)[0] for line in row["options"]] == list("ABCDEF")
        value = row["options"]["ABCDEF".index(row["solution"])].split(". ", 1)[1]
        flame = next(f for f in FLAMES if answer_value(f, row["skill"]) == value)
        assert row["solution"] == "ABCDEF"[FLAMES.index(flame)]  # the same letter for a colour, whatever the skill


def test_sft_rows_ask_multiple_choice_only_for_the_chosen_skills(tmp_path: Path) -> None:
    made = generate_demo_corpus(
        tmp_path / "c", n_train=60, n_rl=30, n_eval=30, n_caption=0, mc_fraction=1.0, sft_mc_skills=("VidR",)
    )
    sft = rows(made.sft_file)
    assert {r["skill"] for r in sft if r["problem_type"] == "multiple choice"} == {"VidR"}
    assert {r["skill"] for r in sft if r["problem_type"] == "open-ended"} == {"KnowVid", "KnowVidR"}
    for split in (made.rl_file, made.eval_file):  # RL and eval still ask every skill as multiple choice
        assert {r["skill"] for r in rows(split) if r["problem_type"] == "multiple choice"} == set(SKILLS)
