"""Reading and writing lmms-eval task yamls with their `!function` tags kept verbatim (safe loader, no code run).

>>> task = load_task_yaml("doc_to_text: !function utils.doc_to_text\\n")
>>> isinstance(task["doc_to_text"], FunctionRef), dump_task_yaml(task)
(True, "doc_to_text: !function 'utils.doc_to_text'\\n")
"""

from typing import Any

import yaml


class FunctionRef(str):
    """A `!function module.name` reference of a task yaml, kept as its dotted name."""


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Loader.add_constructor("!function", lambda loader, node: FunctionRef(loader.construct_scalar(node)))  # type: ignore[arg-type]
_Dumper.add_representer(FunctionRef, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


def load_task_yaml(text: str) -> Any:
    """The task yaml `text` as Python objects, `!function` values as FunctionRef."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass


def dump_task_yaml(task: Any) -> str:
    """`task` as yaml text, FunctionRef values written back as `!function` tags, keys in their given order."""
    return yaml.dump(task, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
