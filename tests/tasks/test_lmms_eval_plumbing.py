"""Our task yamls in lmms-eval's own loader: names resolve, functions import, prompts end with our instruction.

The general benchmarks' data lives on the hub, so only the plumbing is tested here (PROTOCOL.md 3, 6).
"""

from pathlib import Path
from typing import Any

import lmms_eval.utils as lmms_utils
import pytest

from videokr.prompts import INSTR, MC_TAIL, OE_TAIL
from videokr.tasks import GENERAL_DIR, TASKS_DIR, VIDEOKR_EVAL_DIR

GENERAL_TASKS = [
    "videokr_videomme",
    "videokr_mvbench",
    "videokr_longvideobench",
    "videokr_videommmu",
    "videokr_mmvu",
    "videokr_scivideobench",
]

# (task yaml, a doc shaped like the benchmark's rows, multiple choice?)
DOCS: list[tuple[str, dict[str, Any], bool]] = [
    ("videokr_videomme", {"question": "Q?", "options": ["A. x", "B. y", "C. z", "D. w"]}, True),
    ("videokr_mvbench_action_count", {"question": "Q?", "candidates": ["x", "y"]}, True),
    (
        "videokr_longvideobench",
        {"question": "Q?", **{f"option{i}": f"o{i}" for i in range(4)}, "option4": "N/A"},
        True,
    ),
    ("videokr_videommmu_adaptation", {"question": "Q?", "question_type": "open", "options": []}, False),
    ("videokr_videommmu_perception", {"question": "Q?", "question_type": "multiple-choice", "options": ["x"]}, True),
    (
        "videokr_mmvu",
        {"question": "Q?", "question_type": "multiple-choice", "choices": dict(zip("ABCDE", "vwxyz", strict=True))},
        True,
    ),
    ("videokr_mmvu", {"question": "Q?", "question_type": "open-ended", "choices": {}}, False),
    ("videokr_scivideobench", {"question": "Q?", "options": ["x", "y"], "video_duration": 30}, True),
]


@pytest.fixture(scope="module")
def task_manager() -> Any:
    from lmms_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


def test_task_manager_registers_every_videokr_task(task_manager: Any) -> None:
    assert "videokr_eval" in task_manager.all_subtasks
    for name in GENERAL_TASKS:
        assert name in task_manager.all_tasks, name
    assert "videokr_mvbench" in task_manager.all_groups and "videokr_videommmu" in task_manager.all_groups
    assert len([t for t in task_manager.all_subtasks if t.startswith("videokr_mvbench_")]) == 20


def test_videokr_names_never_clash_with_builtin_tasks() -> None:
    import lmms_eval

    builtin = Path(lmms_eval.__file__).parent / "tasks"
    names = {
        line.split(":", 1)[1].strip().strip("\"'")
        for p in builtin.rglob("*.yaml")
        for line in p.read_text(errors="replace").splitlines()
        if line.startswith(("task:", "group:"))
    }
    ours = {p.stem for p in GENERAL_DIR.glob("*.yaml")} | {"videokr_eval"}
    assert not ours & names


@pytest.mark.parametrize(("task", "doc", "choice"), [pytest.param(*d, id=f"{d[0]}-{i}") for i, d in enumerate(DOCS)])
def test_general_prompt_ends_with_think_answer_instruction(
    task: str, doc: dict[str, Any], choice: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # lmms-eval's videommmu utils read it at import
    cfg = lmms_utils.load_yaml_config(str(GENERAL_DIR / f"{task}.yaml"), mode="full")
    assert cfg["task"] == task and cfg["generation_kwargs"]["max_new_tokens"] == 8192
    text = cfg["doc_to_text"](doc, cfg["lmms_eval_specific_kwargs"]["default"])
    assert text.endswith("\n" + INSTR + (MC_TAIL if choice else OE_TAIL))
    assert "Q?" in text


def test_general_process_results_reads_the_answer_tag() -> None:
    cfg = lmms_utils.load_yaml_config(str(GENERAL_DIR / "videokr_scivideobench.yaml"), mode="full")
    doc = {"question": "Q?", "options": ["x", "y"], "answer": "B", "video_duration": 30, "video_id": "v"}
    doc["question_type"] = "mc"
    right = cfg["process_results"](doc, ["<think>A is tempting, but no.</think><answer>B</answer>"])
    wrong = cfg["process_results"](doc, ["<think>B is tempting, but no.</think><answer>A</answer>"])
    assert right["scivideobench_acc"]["pred_answer"] == "B" and right["scivideobench_acc"]["correct"] is True
    assert wrong["scivideobench_acc"]["pred_answer"] == "A" and wrong["scivideobench_acc"]["correct"] is False


def test_videokr_eval_yaml_functions_resolve() -> None:
    cfg = lmms_utils.load_yaml_config(str(VIDEOKR_EVAL_DIR / "videokr_eval.yaml"), mode="full")
    assert cfg["dataset_path"] == "json" and "video" not in cfg["dataset_kwargs"]
    assert cfg["generation_kwargs"] == {"max_new_tokens": 8192, "temperature": 0.1, "top_p": 0.001, "do_sample": True}
    doc = {"question": "Q?", "options": ["A. x", "B. y"], "solution": "A", "video_path": "v.mp4"}
    assert cfg["doc_to_text"](doc, {}) == "Q?\nA. x\nB. y\n" + INSTR + MC_TAIL
