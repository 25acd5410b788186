"""The review file formats shared with `videokr build review`: verdicts read back with every bad line reported."""

import json

import pytest

from videokr.explore.review import (
    ReviewFileError,
    Verdict,
    check_verdicts,
    read_export,
    read_verdicts,
    save_verdicts,
    verdicts_path,
)


def write_lines(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_read_verdicts_reads_accept_reject_and_edit_in_file_order(tmp_path):
    path = write_lines(
        tmp_path / "v.jsonl",
        [
            {"review_id": "a", "verdict": "accept"},
            "",
            {"review_id": "b", "verdict": "reject", "note": "off topic"},
            {"review_id": "c", "verdict": "edit", "item": {"question": "fixed?"}},
        ],
    )
    assert read_verdicts(path) == [
        Verdict("a", "accept"),
        Verdict("b", "reject", note="off topic"),
        Verdict("c", "edit", {"question": "fixed?"}),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param(["a"], "expected a JSON object", id="not-object"),
        pytest.param({"verdict": "accept"}, "review_id must be a non-empty string", id="no-id"),
        pytest.param({"review_id": "x", "verdict": "maybe"}, "verdict must be one of", id="bad-verdict"),
        pytest.param({"review_id": "x", "verdict": "edit"}, 'needs the edited "item"', id="edit-without-item"),
        pytest.param({"review_id": "x", "verdict": "accept", "item": {}}, 'only to "edit"', id="item-on-accept"),
        pytest.param({"review_id": "x", "verdict": "accept", "note": 3}, "note must be a string", id="note-type"),
        pytest.param({"review_id": "x", "verdict": "accept", "score": 1}, "unknown field(s) score", id="unknown-key"),
        pytest.param({"review_id": "ok", "verdict": "reject"}, "already on line 1", id="duplicate"),
    ],
)
def test_read_verdicts_reports_bad_line_with_file_line_and_reason(tmp_path, line, reason):
    path = write_lines(tmp_path / "v.jsonl", [{"review_id": "ok", "verdict": "accept"}, line])
    with pytest.raises(ReviewFileError) as caught:
        read_verdicts(path)
    (issue,) = caught.value.issues
    assert (issue.path, issue.line) == (str(path), 2) and reason in issue.reason
    assert f"{path}:2: " in str(caught.value)
    good, issues = check_verdicts(path)
    assert [v.review_id for v in good] == ["ok"] and issues == [issue]


def test_read_export_lists_every_bad_line(tmp_path):
    path = write_lines(
        tmp_path / "export.jsonl",
        [
            {"review_id": "r1", "step": "qc", "model": "m", "item": {"q": 1}},
            {"review_id": "r2", "step": "qc", "model": "m"},
            {"review_id": "r3", "step": 4, "model": "m", "item": None},
        ],
    )
    with pytest.raises(ReviewFileError) as caught:
        read_export(path)
    assert [(i.line, i.reason) for i in caught.value.issues] == [
        (2, "missing field(s) item"),
        (3, "step must be a string"),
    ]


def test_read_verdicts_names_a_missing_file(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        read_verdicts(tmp_path / "absent.jsonl")


def test_save_verdicts_replaces_an_earlier_verdict_and_keeps_one_line_per_item(tmp_path):
    path = verdicts_path(tmp_path / "export.jsonl")
    assert path.name == "export.jsonl.verdicts.jsonl"
    save_verdicts(path, [Verdict("a", "accept"), Verdict("b", "reject")])
    save_verdicts(path, [Verdict("a", "edit", {"q": 2}, "typo")])
    assert read_verdicts(path) == [Verdict("a", "edit", {"q": 2}, "typo"), Verdict("b", "reject")]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left beside it
