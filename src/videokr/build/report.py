"""The build report: what each step kept, what each quality-control filter dropped, and what the calls cost."""

import json
from pathlib import Path
from typing import Any

from videokr.io import write_json, write_text


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def collect_report(run_dir: Path) -> dict[str, Any]:
    """The report's data from the manifest, qc/report.json and ledger.json."""
    manifest = _load(run_dir / "manifest.json") or {}
    steps = {name: entry.get("outputs", {}) for name, entry in manifest.get("stages", {}).items() if name != "report"}
    return {"steps": steps, "qc": _load(run_dir / "qc" / "report.json"), "ledger": _load(run_dir / "ledger.json")}


def render_report(data: dict[str, Any]) -> str:
    """The report as Markdown."""
    lines = ["# videokr build report", "", "## Steps", "", "| step | outputs |", "| --- | --- |"]
    for name, outputs in data["steps"].items():
        shown = ", ".join(f"{k}: {v}" for k, v in outputs.items() if not str(v).startswith("/"))
        lines.append(f"| {name} | {shown} |")
    qc = data.get("qc")
    if qc:
        lines += [
            "",
            "## Quality control",
            "",
            f"{qc['candidates']} candidates, {qc['kept']} kept; "
            f"{qc['planted']} planted items, {qc['planted_kept']} of them kept.",
            "",
            "| filter | status | checked | dropped | planted caught |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, f in qc["filters"].items():
            lines.append(f"| {name} | {f['status']} | {f['checked']} | {f['dropped']} | {f['planted_caught']} |")
    ledger = data.get("ledger")
    if ledger and ledger["accounts"]:
        lines += [
            "",
            "## Model calls",
            "",
            "| step/model | requests | cached | tokens in | tokens out | cost USD | failures |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for key, a in ledger["accounts"].items():
            lines.append(
                f"| {key} | {a['requests']} | {a['cached']} | {a['prompt_tokens']} | {a['completion_tokens']} | {a['cost_usd']:.4f} | {a['failures']} |"
            )
    else:
        lines += ["", "No model endpoint was called (built-in models only)."]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path) -> list[Path]:
    """Write RUN/report.md and RUN/report.json; the paths written."""
    data = collect_report(run_dir)
    write_json(run_dir / "report.json", data)
    write_text(run_dir / "report.md", render_report(data))
    return [run_dir / "report.md", run_dir / "report.json"]
