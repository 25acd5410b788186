"""videokr.records: aliases, normalisation and the canonical Sample (PROTOCOL.md section 2)."""

import dataclasses
import doctest

import pytest

import videokr.records
from videokr.records import (
    ALIASES,
    RowError,
    Sample,
    normalize_problem_type,
    normalize_video_path,
    parse_options,
    pick,
    strip_think_tags,
)


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        pytest.param({"id": 7}, "problem_id", "7", id="id"),
        pytest.param({"file_name": "abc.mp4"}, "problem_id", "abc.mp4", id="file_name-as-id"),
        pytest.param({"prompt": "Why?"}, "question", "Why?", id="prompt"),
        pytest.param({"problem": " <video>Why? "}, "question", "Why?", id="problem-video-stripped"),
        pytest.param({"option": ["A. x"]}, "options", ("A. x",), id="option"),
        pytest.param({"answer": "<answer> B </answer>"}, "solution", "B", id="answer-tagged"),
        pytest.param({"correct_answer": "Paris"}, "solution", "Paris", id="correct_answer"),
        pytest.param({"ground_truth": 42}, "solution", "42", id="ground_truth-number"),
        pytest.param({"process": "<think>r</think>"}, "think", "r", id="process"),
        pytest.param({"videos": ["./v/a.mp4", "v/b.mp4"]}, "video_path", "v/a.mp4", id="videos-list"),
        pytest.param({"videos": [{"video": "/v/a.mp4"}]}, "video_path", "v/a.mp4", id="videos-dicts"),
        pytest.param({"videos": [{"path": "v/c.mp4"}]}, "video_path", "v/c.mp4", id="videos-dict-path"),
        pytest.param({"video": "v/d.mp4"}, "video_path", "v/d.mp4", id="video"),
        pytest.param({"video_file": "v/e.mp4"}, "video_path", "v/e.mp4", id="video_file"),
        pytest.param({"path": "v/f.mp4"}, "video_path", "v/f.mp4", id="path"),
        pytest.param({"file_name": "v/g.mp4"}, "video_path", "v/g.mp4", id="file_name-as-video"),
        pytest.param({"source": "Physics"}, "subject", "Physics", id="source-as-subject"),
        pytest.param({"question_type": "mcq"}, "problem_type", "multiple choice", id="question_type"),
    ],
)
def test_sample_from_raw_reads_every_alias(row: dict, field: str, expected: object) -> None:
    base = {key: value for key, value in {"question": "Q?", "solution": "A"}.items() if key != field}
    sample = Sample.from_raw({**base, **row})
    assert getattr(sample, field) == expected


def test_sample_from_raw_prefers_canonical_name_over_alias() -> None:
    sample = Sample.from_raw({"question": "Q1", "prompt": "Q2", "solution": "A", "answer": "B", "video_path": "a.mp4"})
    assert (sample.question, sample.solution, sample.video_path) == ("Q1", "A", "a.mp4")


@pytest.mark.parametrize(
    ("value", "has_options", "expected"),
    [
        pytest.param("multiple choice", False, "multiple choice", id="mc"),
        pytest.param("Multiple-Choice", False, "multiple choice", id="mc-case-hyphen"),
        pytest.param("multiple_choice", False, "multiple choice", id="mc-underscore"),
        pytest.param("MCQ", False, "multiple choice", id="mcq"),
        pytest.param("open-ended", True, "open-ended", id="oe-with-options"),
        pytest.param("open_ended", False, "open-ended", id="oe-underscore"),
        pytest.param("free-form", False, "open-ended", id="free-form"),
        pytest.param("free form", False, "open-ended", id="free-form-space"),
        pytest.param("numerical", True, "open-ended", id="numerical"),
        pytest.param("essay", True, "multiple choice", id="unknown-with-options"),
        pytest.param("essay", False, "open-ended", id="unknown-without-options"),
        pytest.param(None, True, "multiple choice", id="missing-with-options"),
    ],
)
def test_normalize_problem_type_follows_protocol(value: object, has_options: bool, expected: str) -> None:
    assert normalize_problem_type(value, has_options) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["A. x", " B. y ", "", "  "], ("A. x", "B. y"), id="list"),
        pytest.param({"B": "y", "A": "x"}, ("A. x", "B. y"), id="dict-sorted"),
        pytest.param("A. x\n\n B. y\n", ("A. x", "B. y"), id="string"),
        pytest.param(None, (), id="none"),
    ],
)
def test_parse_options_accepts_list_dict_and_string(value: object, expected: tuple[str, ...]) -> None:
    assert parse_options(value) == expected


@pytest.mark.parametrize("value", [pytest.param(5, id="number"), pytest.param([{"A": "x"}], id="list-of-dicts")])
def test_parse_options_rejects_malformed(value: object) -> None:
    with pytest.raises(RowError) as info:
        parse_options(value)
    assert info.value.field == "options"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("./videos_0007/abc.mp4", "videos_0007/abc.mp4", id="dot-slash"),
        pytest.param("././a.mp4", "a.mp4", id="repeated-dot-slash"),
        pytest.param("/abs/a.mp4", "abs/a.mp4", id="leading-slash"),
        pytest.param(".hidden/a.mp4", ".hidden/a.mp4", id="hidden-dir-kept"),
        pytest.param("a/./b/../c.mp4", "a/c.mp4", id="folded"),
    ],
)
def test_normalize_video_path_makes_clean_relative_paths(value: str, expected: str) -> None:
    assert normalize_video_path(value) == expected


@pytest.mark.parametrize("value", [pytest.param("../x.mp4", id="parent"), pytest.param("a/../../x.mp4", id="nested")])
def test_normalize_video_path_refuses_escaping_paths(value: str) -> None:
    with pytest.raises(RowError, match="outside the video root"):
        normalize_video_path(value)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        pytest.param({"solution": "A"}, "question", id="no-question"),
        pytest.param({"question": "<video> ", "solution": "A"}, "question", id="only-placeholder"),
        pytest.param({"question": "Q?"}, "solution", id="no-answer"),
        pytest.param({"question": "Q?", "solution": "<answer> </answer>"}, "solution", id="empty-tagged-answer"),
        pytest.param({"question": "Q?", "solution": "A", "options": 3}, "options", id="bad-options"),
        pytest.param({"question": "Q?", "solution": "A", "video_path": "../../etc/x"}, "video_path", id="escape"),
        pytest.param(["not", "a", "dict"], "row", id="not-a-dict"),
        pytest.param({"question": ["Q?"], "solution": "A"}, "question", id="question-array"),
        pytest.param({"question": "Q?", "solution": {"a": "A"}}, "solution", id="solution-object"),
        pytest.param({"question": "Q?", "solution": "A", "think": ["t"]}, "think", id="think-array"),
        pytest.param({"question": "Q?", "solution": "A", "id": {"n": 1}}, "problem_id", id="id-object"),
        pytest.param({"question": "Q?", "solution": "A", "source": ["x"]}, "subject", id="label-array"),
        pytest.param({"question": "Q?", "solution": "A", "videos": [["a.mp4"]]}, "video_path", id="videos-nested"),
        pytest.param(
            {"question": "Q?", "solution": "A", "video": {"path": {"x": 1}}}, "video_path", id="video-dict-path"
        ),
        pytest.param({"question": "Q?", "solution": "A", "video_path": "a\x00.mp4"}, "video_path", id="nul-in-path"),
    ],
)
def test_sample_from_raw_names_the_failing_field(row: object, field: str) -> None:
    with pytest.raises(RowError) as info:
        Sample.from_raw(row)  # type: ignore[arg-type]
    assert info.value.field == field


def test_sample_to_dict_round_trips_through_from_raw() -> None:
    sample = Sample.from_raw(
        {"id": "x1", "question_type": "mcq", "prompt": "Q?", "option": {"A": "a"}, "answer": "A", "process": "r"}
    )
    again = Sample.from_raw(sample.to_dict())
    assert again == sample
    assert sample.to_dict()["options"] == ["A. a"]


def test_sample_is_frozen_and_hashable() -> None:
    sample = Sample.from_raw({"question": "Q?", "solution": "A", "extra": {"nested": [1]}})
    with pytest.raises(AttributeError):
        sample.question = "other"  # type: ignore[misc]
    assert hash(sample) == hash(Sample.from_raw({"question": "Q?", "solution": "A"}))
    assert sample.raw["extra"] == {"nested": [1]}


def test_records_doctests_pass() -> None:
    assert doctest.testmod(videokr.records).failed == 0


def _pick_rows() -> list[dict[str, object]]:
    """Rows with every alias present, empty, zero, False or null, in several key orders and subsets (shapes)."""
    values: list[object] = ["x", "", None, 0, False, [], ["v.mp4"], {}, {"A": "a"}, " ", 2.5]
    keys = list(dict.fromkeys(alias for aliases in ALIASES.values() for alias in aliases))
    rows = []
    for offset in range(len(values)):
        for step in (1, 3, 4):
            row = {key: values[(offset + step * k) % len(values)] for k, key in enumerate(keys)}
            rows += [row, dict(reversed(row.items())), {k: v for k, v in row.items() if k[0] in "pvqsf"}]
    return rows


def test_pick_all_equals_pick_of_every_field_whatever_the_row_shape() -> None:
    rows = _pick_rows()
    for row in rows + rows:  # the second time from the per-shape cache
        assert videokr.records.pick_all(row) == {name: pick(row, name) for name in ALIASES}, row


def _strip_think_reference(text: str) -> str:
    text = text.strip()
    lower = text.lower()
    if lower.startswith("<think>") and "</think>" in lower:
        text = text[len("<think>") : lower.rindex("</think>")]
    return text.strip()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(" <think> red </think> ", id="wrapped"),
        pytest.param("<THINK>upper</Think>", id="any-case"),
        pytest.param("<think>a</think> b </think>", id="last-closing-tag"),
        pytest.param("<think>a</think> tail", id="tail-after-tag"),
        pytest.param("<think>no closing tag", id="unclosed"),
        pytest.param("plain </think>", id="no-opening-tag"),
        pytest.param("<thin\u212a>kelvin sign</think>", id="kelvin-sign-lowers-to-k"),
        pytest.param("<think>\u0130stanbul</think>", id="dotted-capital-i-lowers-to-two-chars"),
        pytest.param("<think>\u0130\u0130</THINK>x", id="dotted-capital-i-shifts-the-index"),
        pytest.param("<think></think>", id="empty"),
    ],
)
def test_strip_think_tags_matches_the_lower_case_search(text: str) -> None:
    assert strip_think_tags(text) == _strip_think_reference(text)


@pytest.mark.parametrize(
    "row",
    [
        pytest.param({"question": "Q?", "solution": "A"}, id="minimal"),
        pytest.param(
            {"id": 3, "prompt": "Q?", "option": {"B": "b", "A": "a"}, "answer": "B", "process": "<think>r</think>"}
            | {"videos": ["./v.mp4"], "source": "S", "dataset": "D", "skill": "K", "discipline": "P"},
            id="every-field",
        ),
    ],
)
def test_sample_from_raw_builds_the_instance_the_constructor_builds(row: dict) -> None:
    sample = Sample.from_raw(row)
    built = Sample(**{field.name: getattr(sample, field.name) for field in dataclasses.fields(Sample)})
    assert vars(sample) == vars(built) and sample == built and hash(sample) == hash(built)
