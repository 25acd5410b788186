"""People in the loop: review samples per step and model, verdicts back in, the model that meets the bar chosen.

The file formats are videokr.explore.review's (the explorer's review page reads the exports and writes the
verdicts): `export_review` writes, per reviewable step and per candidate model, a seeded sample (100 by default) of
that model's outputs, one line `{"review_id", "step", "model", "item"}`. `import_verdicts` reads a verdicts file
with `check_verdicts` (every bad line reported with its file, line and reason), refuses ids that were never exported
and edits that are not objects, and merges the rest into `<run>/review/verdicts.jsonl` (`save_verdicts`: a later
verdict on the same id wins). `select_models` picks per step the model whose accepted share (accept + edit over
decided) meets the bar and writes the provenance (shares, bar, counts) to `<run>/review/selection.json`;
`record_selection` writes the choice into the recipe's `selected:` mapping, which the stages read, so the recipe
alone reproduces the build. Every stage drops rejected items and applies edits to its output (`apply_verdicts`),
and item ids are deterministic, so a rejected item never re-enters, not even when it is generated again.
"""

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videokr.errors import DataError
from videokr.explore.review import LineIssue, Verdict, check_verdicts, read_export, read_verdicts, save_verdicts
from videokr.io import read_jsonl, write_json, write_jsonl, write_text

# step -> (stage folder, per-model output file pattern, the key of one output)
STEPS: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], str]]] = {
    "scenarios": ("scenarios", "scenarios.{model}.jsonl", lambda r: str(r["scenario_id"])),
    "relevance": ("relevance", "relevance.{model}.jsonl", lambda r: f"{r['video_id']}|{r['scenario_id']}"),
    "generate": ("generate", "candidates.{model}.jsonl", lambda r: str(r["item_id"])),
}
SELECTED_RE = re.compile(r"^selected:.*\n(?:(?:[ \t]+.*|[ \t]*)\n)*", re.MULTILINE)


def review_id(step: str, model: str, key: str) -> str:
    """The id of one reviewed output.

    >>> review_id("generate", "gpt", "v|k|VidR")
    'generate/gpt/v|k|VidR'
    """
    return f"{step}/{model}/{key}"


def model_outputs(run_dir: Path, step: str) -> dict[str, list[dict[str, Any]]]:
    """model -> its outputs, for every candidate model the step ran."""
    folder, pattern, _ = STEPS[step]
    prefix, suffix = pattern.split("{model}")
    found = {}
    for path in sorted((run_dir / folder).glob(pattern.replace("{model}", "*"))):
        found[path.name[len(prefix) : -len(suffix)]] = list(read_jsonl(path))
    return found


def export_review(
    run_dir: Path, steps: Sequence[str], sample: int, seed: int, out: Path | None = None
) -> dict[str, Path]:
    """Write a review file per step (all its candidate models in it); step -> the path written."""
    written = {}
    for step in steps:
        if step not in STEPS:
            raise DataError(f"no review for step {step!r}: reviewable steps are {', '.join(STEPS)}")
        lines = []
        for model, rows in model_outputs(run_dir, step).items():
            chosen = random.Random(f"{seed}|{step}|{model}").sample(rows, min(sample, len(rows)))
            lines += [
                {"review_id": review_id(step, model, STEPS[step][2](r)), "step": step, "model": model, "item": r}
                for r in chosen
            ]
        if not lines:
            raise DataError(f"step {step} has no outputs in {run_dir}: run it first (videokr build {step} CONFIG)")
        path = (out or run_dir / "review") / f"{step}.review.jsonl"
        write_jsonl(path, lines)
        written[step] = path
    return written


def load_verdicts(run_dir: Path) -> dict[str, Verdict]:
    """The imported verdicts by review id (empty before any import)."""
    path = run_dir / "review" / "verdicts.jsonl"
    return {v.review_id: v for v in read_verdicts(path)} if path.is_file() else {}


def import_verdicts(run_dir: Path, path: str | Path) -> tuple[int, list[LineIssue]]:
    """Merge a verdicts file into the run; (verdicts imported, issues). Ids not in an export are issues."""
    verdicts, issues = check_verdicts(path)
    lines = _good_lines(Path(path), {i.line for i in issues})
    exported = {e.review_id for f in sorted((run_dir / "review").glob("*.review.jsonl")) for e in read_export(f)}
    kept = []
    for line, verdict in zip(lines, verdicts, strict=True):
        if verdict.review_id not in exported:
            issues.append(
                LineIssue(str(path), line, f"review_id {verdict.review_id!r} was never exported from {run_dir}")
            )
        elif verdict.verdict == "edit" and not isinstance(verdict.item, dict):
            issues.append(LineIssue(str(path), line, "an edit of a build output must be a JSON object"))
        else:
            kept.append(verdict)
    save_verdicts(run_dir / "review" / "verdicts.jsonl", kept)
    return len(kept), sorted(issues, key=lambda i: i.line)


def _good_lines(path: Path, bad: set[int]) -> list[int]:
    """The numbers of the non-blank lines check_verdicts parsed, in order (to name the line of a refused id)."""
    text = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(text, start=1) if line.strip() and n not in bad]


def select_models(run_dir: Path, bar: float) -> dict[str, dict[str, Any]]:
    """Per reviewed step: each model's accepted share and the chosen model (best share meeting the bar, or None)."""
    verdicts = load_verdicts(run_dir)
    selection: dict[str, dict[str, Any]] = {}
    for step in STEPS:
        shares: dict[str, dict[str, float]] = {}
        for v in verdicts.values():
            v_step, model, _ = v.review_id.split("/", 2)
            if v_step == step:
                counts = shares.setdefault(model, {"decided": 0, "accepted": 0})
                counts["decided"] += 1
                counts["accepted"] += v.verdict != "reject"
        if not shares:
            continue
        for counts in shares.values():
            counts["share"] = counts["accepted"] / counts["decided"]
        passing = sorted((c["share"], m) for m, c in shares.items() if c["share"] >= bar)
        selection[step] = {"model": passing[-1][1] if passing else None, "bar": bar, "models": shares}
    write_json(run_dir / "review" / "selection.json", selection)
    return selection


def record_selection(recipe: Path, selection: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Write the chosen models into the recipe's top-level `selected:` mapping (atomically; comments kept).

    Steps without a model meeting the bar keep what the recipe selected before. Returns the mapping written.
    """
    from videokr.config.base import load_yaml

    text = recipe.read_text(encoding="utf-8") if recipe.is_file() else ""
    text = text if not text or text.endswith("\n") else text + "\n"
    before = (load_yaml(text) or {}).get("selected") or {}
    chosen = {str(k): str(v) for k, v in before.items() if v}
    chosen |= {step: str(c["model"]) for step, c in selection.items() if c.get("model")}
    body = SELECTED_RE.sub("", text).rstrip("\n")
    block = "selected:  # written by `videokr build select` (review/selection.json has the shares)\n"
    block += "".join(f"  {step}: {json.dumps(model)}\n" for step, model in sorted(chosen.items()))
    write_text(recipe, (body + "\n" if body else "") + block)
    return chosen


def apply_verdicts(
    step: str, model: str, rows: Sequence[dict[str, Any]], verdicts: Mapping[str, Verdict]
) -> list[dict[str, Any]]:
    """`rows` without the rejected ones and with edits applied (an edit keeps the row's key)."""
    key = STEPS[step][2]
    out = []
    for row in rows:
        verdict = verdicts.get(review_id(step, model, key(row)))
        if verdict is None or verdict.verdict == "accept":
            out.append(row)
        elif verdict.verdict == "edit" and isinstance(verdict.item, dict):
            out.append({**row, **verdict.item})
    return out
