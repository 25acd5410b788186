"""report.md: the metrics of one model, or several side by side, as markdown tables."""

from collections.abc import Mapping
from typing import Any

BREAKDOWNS = ("problem_type", "subject", "dataset", "skill")


def format_accuracy(value: float | None) -> str:
    """Accuracy in percent with one decimal, or a dash when nothing was scored.

    >>> format_accuracy(45.25), format_accuracy(None)
    ('45.2', '-')
    """
    return "-" if value is None else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def _counts_row(name: str, group: Mapping[str, Any]) -> list[str]:
    return [
        name,
        format_accuracy(group.get("accuracy")),
        str(group.get("n", 0)),
        str(group.get("n_scored", 0)),
        str(group.get("n_skipped", 0)),
        str(group.get("n_judge_failed", 0)),
    ]


def render_report(metrics: Mapping[str, Any], title: str = "Evaluation") -> str:
    """The markdown report of one model's metrics."""
    judge = metrics.get("judge") or "none"
    lines = [
        f"# {title}",
        "",
        f"Scoring style `{metrics.get('style')}`, mode `{metrics.get('mode')}`, judge `{judge}`.",
        "",
    ]
    if metrics.get("n_skipped"):
        lines += [
            f"**{metrics['n_skipped']} rows skipped** (not scored: open-ended without a judge, or unusable rows); "
            "they are excluded from every accuracy below.",
            "",
        ]
    if metrics.get("n_judge_failed"):
        lines += [
            f"**{metrics['n_judge_failed']} rows without a judge verdict** (the judge kept failing); "
            "they are excluded, not counted wrong. Re-run to retry them (cached verdicts are reused).",
            "",
        ]
    header = ["group", "accuracy (%)", "n", "scored", "skipped", "judge failed"]
    lines += ["## Overall", "", *_table(header, [_counts_row("all", metrics)]), ""]
    for field in BREAKDOWNS:
        groups = metrics.get(f"by_{field}")
        if groups:
            rows = [_counts_row(name, group) for name, group in groups.items()]
            lines += [f"## By {field.replace('_', ' ')}", "", *_table([field, *header[1:]], rows), ""]
    return "\n".join(lines)


def render_comparison(
    metrics_by_model: Mapping[str, Mapping[str, Any]], title: str = "Model comparison", preface: str = ""
) -> str:
    """The markdown report comparing several models: accuracy (and scored count) per group, one column each.

    `preface` (markdown) goes between the title and the tables.
    """
    names = list(metrics_by_model)
    header = ["group", *names]
    lines = [f"# {title}", ""]
    if preface:
        lines += [preface.strip(), ""]
    lines += ["Accuracy in percent over scored rows (scored / total in brackets).", ""]
    overall = [["all", *(_cell(metrics_by_model[name]) for name in names)]]
    lines += ["## Overall", "", *_table(header, overall), ""]
    for field in BREAKDOWNS:
        groups: list[str] = []
        for metrics in metrics_by_model.values():
            groups += [g for g in metrics.get(f"by_{field}", {}) if g not in groups]
        if groups:
            rows = [
                [g, *(_cell(metrics_by_model[n].get(f"by_{field}", {}).get(g, {})) for n in names)] for g in groups
            ]
            lines += [f"## By {field.replace('_', ' ')}", "", *_table([field, *names], rows), ""]
    notes = [
        f"- {n}: style `{m.get('style')}`, judge `{m.get('judge') or 'none'}`, skipped {m.get('n_skipped', 0)}, "
        f"judge failed {m.get('n_judge_failed', 0)}"
        for n, m in metrics_by_model.items()
    ]
    return "\n".join([*lines, "## Scoring", "", *notes, ""])


def _cell(group: Mapping[str, Any]) -> str:
    if not group:
        return "-"
    return f"{format_accuracy(group.get('accuracy'))} ({group.get('n_scored', 0)}/{group.get('n', 0)})"
