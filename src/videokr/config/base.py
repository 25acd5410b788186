"""Config machinery: frozen dataclasses built from YAML plus `a.b=value` overrides, with strict key and type checks.

Every stage config is a frozen dataclass. `load_config(SFTConfig, "sft.yaml", ["learning_rate=2e-5"])` reads the
file, applies the overrides (each value parsed as a YAML scalar), and builds the dataclass, rejecting unknown keys
with the nearest valid key and values of the wrong type. A field annotated `dict[str, Any]` (by convention
`passthrough`) is copied verbatim: it carries engine settings videokr does not model.
"""

import copy
import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from videokr.errors import ConfigError

T = TypeVar("T")

# PyYAML follows YAML 1.1, where `1e-5` (no dot) is a string, not a float. Configs and overrides are read with a
# loader that also resolves that form (YAML 1.2), so passthrough values reach the engine as numbers; float fields
# accept such strings from a mapping too.
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-5` as a float."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """Parse YAML text like `yaml.safe_load`, except that `1e-5` is a float.

    >>> load_yaml("lr: 1e-5")
    {'lr': 1e-05}
    """
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe


def load_config(
    cls: type[T],
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
) -> T:
    """Build `cls` from a YAML file (or a mapping, or nothing: the defaults) plus `a.b=value` overrides."""
    raw, origin = read_source(source)
    raw = apply_overrides(raw, overrides)
    if overrides:
        origin = f"{origin} (with overrides)"
    return from_dict(cls, raw, origin=origin)


def read_source(source: str | os.PathLike[str] | Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The raw mapping of `source` and a name for it in error messages."""
    if source is None:
        return {}, "defaults"
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), "config"
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        return {}, str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data, str(path)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `a.b=value` into its key path and its value parsed as YAML (`x=` gives None).

    >>> parse_override("sft.learning_rate=2e-5")
    (['sft', 'learning_rate'], 2e-05)
    >>> parse_override("eval.tasks=[videokr_eval, videokr_mmvu]")
    (['eval', 'tasks'], ['videokr_eval', 'videokr_mmvu'])
    """
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ConfigError(f"bad override {text!r}: expected KEY=VALUE with a dotted key, e.g. sft.learning_rate=2e-5")
    try:
        parsed = load_yaml(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"bad override {text!r}: the value is not valid YAML ({exc})") from exc
    return parts, parsed


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of `raw` with every `a.b=value` override set (missing parents are created)."""
    out = copy.deepcopy(dict(raw))
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"bad override {text!r}: {where} is a {type(child).__name__}, not a mapping")
            node = child
        node[parts[-1]] = value
    return out


def from_dict(cls: type[T], data: Mapping[str, Any] | None, *, origin: str = "config", prefix: str = "") -> T:
    """Build the dataclass `cls` from `data`, checking keys and types; errors name `origin` and the key path."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: {prefix.rstrip('.') or 'the config'} must be a mapping, got {_kind(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key_message(str(key), list(fields), origin, prefix))
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name in fields:
        path = f"{prefix}{name}"
        if name in data:
            kwargs[name] = coerce(hints[name], data[name], origin=origin, path=path)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: {prefix.rstrip('.') or cls.__name__}: {exc}") from exc


def coerce(hint: Any, value: Any, *, origin: str = "config", path: str = "value") -> Any:
    """Check `value` against the type `hint` and return it in the field's form (tuples for sequences)."""
    if hint is Any:
        return copy.deepcopy(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return from_dict(hint, value, origin=origin, prefix=f"{path}.")
    origin_type = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin_type in (typing.Union, types.UnionType):
        return _coerce_union(args, value, origin, path)
    if origin_type is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{origin}: {path} must be one of {choices}, got {value!r}")
        return value
    if origin_type in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: {path} must be a mapping, got {_kind(value)}")
        return copy.deepcopy(dict(value))
    if origin_type in (tuple, list) or hint in (tuple, list):
        return _coerce_sequence(args, value, origin, path)
    return _coerce_scalar(hint, value, origin, path)


def _coerce_union(args: tuple[Any, ...], value: Any, origin: str, path: str) -> Any:
    if value is None:
        if type(None) in args:
            return None
        raise ConfigError(f"{origin}: {path} must not be empty")
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return coerce(arg, value, origin=origin, path=path)
        except ConfigError as exc:
            errors.append(str(exc))
    raise ConfigError(errors[0] if len(errors) == 1 else f"{origin}: {path}: {value!r} matches none of {args}")


def _coerce_sequence(args: tuple[Any, ...], value: Any, origin: str, path: str) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(f"{origin}: {path} must be a list, got {_kind(value)}")
    item = args[0] if args else Any
    return tuple(coerce(item, v, origin=origin, path=f"{path}[{i}]") for i, v in enumerate(value))


def _coerce_scalar(hint: Any, value: Any, origin: str, path: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
    else:
        return value
    name = getattr(hint, "__name__", str(hint))
    hint_text = " (quote it to keep it a string)" if hint is str and value is not None else ""
    raise ConfigError(f"{origin}: {path} must be {name}, got {_kind(value)} {value!r}{hint_text}")


def _unknown_key_message(key: str, valid: list[str], origin: str, prefix: str) -> str:
    message = f"{origin}: unknown key '{prefix}{key}'"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if close:
        return f"{message}; did you mean '{prefix}{close[0]}'?"
    return f"{message}; valid keys here: {', '.join(sorted(valid))}"


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def to_dict(config: Any) -> Any:
    """A plain-data copy of a config (dataclasses to dicts, tuples to lists), fit for YAML or JSON."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, Mapping):
        return {k: to_dict(v) for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [to_dict(v) for v in config]
    return copy.deepcopy(config)


def to_yaml(config: Any) -> str:
    """The config as YAML text, in field order."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)
