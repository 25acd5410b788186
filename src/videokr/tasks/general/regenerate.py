"""Regenerate the `videokr_*` general-benchmark task yamls from the installed lmms-eval's own task yamls.

Run after an lmms-eval upgrade: `python -m videokr.tasks.general.regenerate`. Dataset fields, visuals and metrics
stay upstream's; doc_to_text / process_results point at this package's wrappers (utils.py), generation settings
are the published ones (PROTOCOL.md 6) and the upstream post-prompts are emptied (ours is appended instead).
"""

from pathlib import Path
from typing import Any

import yaml

from videokr.tasks.task_yaml import FunctionRef, dump_task_yaml, load_task_yaml

OUT = Path(__file__).resolve().parent
GENERATION = {"max_new_tokens": 8192, "temperature": 0.1, "top_p": 0.001, "do_sample": True}
WRAPPED = {"doc_to_text", "process_results"}
HEADER = (
    "# Generated from lmms-eval's tasks/{src} by videokr.tasks.general.regenerate: videokr's think/answer prompt and\n"
    "# the published generation settings (PROTOCOL.md 6); data still comes from the hub. Run: videokr eval --tasks {task}\n"
)


def _load(path: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = load_task_yaml(path.read_text(encoding="utf-8"))
    include = cfg.pop("include", None)
    if include:
        base = _load(path.parent / include)
        base.update(cfg)
        cfg = base
    return cfg


def convert(upstream: Path, bench: str, src: str, task: str, kwargs: dict[str, Any]) -> Path:
    """Write OUT/<task>.yaml from lmms-eval's tasks/<bench>/<src>."""
    cfg = _load(upstream / bench / src)
    cfg["task"] = task
    cfg.pop("tag", None)
    for key, value in list(cfg.items()):
        if isinstance(value, FunctionRef):
            name = value.split(".", 1)[1]
            module = "videokr.tasks.general.utils" if key in WRAPPED else f"lmms_eval.tasks.{bench}.utils"
            cfg[key] = FunctionRef(f"{module}.{name}")
    for metric in cfg.get("metric_list", []):
        if isinstance(metric.get("aggregation"), FunctionRef):
            metric["aggregation"] = FunctionRef(
                f"lmms_eval.tasks.{bench}.utils." + metric["aggregation"].split(".", 1)[1]
            )
    cfg["generation_kwargs"] = dict(GENERATION)
    default = dict((cfg.get("lmms_eval_specific_kwargs") or {}).get("default", {}))
    cfg["lmms_eval_specific_kwargs"] = {"default": {**default, **kwargs}}
    out = OUT / f"{task}.yaml"
    text = dump_task_yaml(cfg)
    out.write_text(HEADER.format(src=f"{bench}/{src}", task=task) + text, encoding="utf-8")
    return out


def main() -> None:
    """Rewrite every general-benchmark yaml (and the MVBench / VideoMMMU groups)."""
    import lmms_eval

    upstream = Path(lmms_eval.__file__).resolve().parent / "tasks"
    empty = {"pre_prompt": "", "post_prompt": ""}
    convert(upstream, "videomme", "videomme.yaml", "videokr_videomme", empty)
    convert(upstream, "longvideobench", "longvideobench_val_v.yaml", "videokr_longvideobench", empty)
    convert(upstream, "mmvu", "mmvu_val.yaml", "videokr_mmvu", empty)
    convert(upstream, "scivideobench", "scivideobench.yaml", "videokr_scivideobench", empty)
    groups: dict[str, list[str]] = {"videokr_videommmu": [], "videokr_mvbench": []}
    for sub in ("adaptation", "comprehension", "perception"):
        convert(upstream, "videommmu", f"{sub}.yaml", f"videokr_videommmu_{sub}", {"mcq_post_prompt": ""})
        groups["videokr_videommmu"].append(f"videokr_videommmu_{sub}")
    for src in sorted((upstream / "mvbench").glob("mvbench_*.yaml")):
        convert(upstream, "mvbench", src.name, f"videokr_{src.stem}", {"post_prompt": ""})
        groups["videokr_mvbench"].append(f"videokr_{src.stem}")
    for group, tasks in groups.items():
        body = yaml.safe_dump({"group": group, "task": tasks}, sort_keys=False)
        (OUT / f"{group}.yaml").write_text(
            f"# The {group[8:]} group with videokr's prompt (see its task yamls).\n" + body
        )


if __name__ == "__main__":
    main()
