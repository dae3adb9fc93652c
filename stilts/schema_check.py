"""Check a config node against its schema (stilts.schema): unknown keys, missing keys, types and ranges.

Errors name the key, the value and what is allowed (`target.lr` is -1e-05; it must be a number > 0.0),
and an unknown key comes with the closest known one, so a `+target.lrr=...` typo is never ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable
from functools import cache
from typing import Any

from omegaconf import DictConfig, ListConfig

from stilts.errors import ConfigError


def read_node(
    node: DictConfig, schema: type, key: str, *, nullable: bool = False, complete: bool = True
) -> dict[str, Any]:
    """The values of `node` (at config key `key`) as the schema's types, defaults filled in.

    Args:
        nullable: every setting may be null (the `none` task, whose settings are unused).
        complete: refuse a node without one of the schema's required keys.

    Raises:
        ConfigError: naming the first unknown, missing or invalid key.
    """
    fields = {f.name: f for f in dataclasses.fields(schema)}
    prefix = f"{key}." if key else ""
    unknown(node.keys(), fields, prefix)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in node:
            if f.metadata["implied"]:
                values[name] = _default(f)
                continue
            if complete:
                raise ConfigError(f"config key `{prefix}{name}` is missing{_missing_hint(node, f)}")
            values[name] = None
            continue
        value = node.get(name)
        if value is None and nullable:
            values[name] = None
            continue
        values[name] = read_value(f"{prefix}{name}", value, hints(schema)[name], f.metadata)
    return values


def read_value(key: str, value: Any, hint: Any, rule: dict[str, Any]) -> Any:
    """`value` (at `key`) converted to `hint`'s type, or a ConfigError saying what is allowed."""
    kind, optional = _unwrap(hint)
    if value is None and optional:
        return None
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, DictConfig):
            fail(key, value, "a mapping" + (" (or null)" if optional else ""))
        read_node(value, kind, key)
        return value
    wrong = _wrong(value, kind, rule, optional)
    if wrong is not None:
        fail(key, value, wrong)
    if kind is tuple:
        return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
    return kind(value) if kind in (int, float) else value


def _wrong(value: Any, kind: Any, rule: dict[str, Any], optional: bool) -> str | None:
    """What `value` must be instead, or None when it fits."""
    null = " (or null)" if optional else ""
    if kind is bool:
        return None if isinstance(value, bool) else "true or false"
    if kind is int:
        return whole_number(value, rule.get("low", 0), rule.get("high"), optional=optional)
    if kind is float:
        return real_number(value, rule.get("low", -math.inf), rule.get("high"), rule)
    if kind is str and rule.get("choices"):
        return None if value in rule["choices"] else f"one of {', '.join(rule['choices'])}"
    if kind is str:
        return None if isinstance(value, str) and value else "a non-empty text"
    if kind is tuple:
        many = isinstance(value, ListConfig | list | tuple) and all(_is_scalar(v) for v in value)
        if many or (rule.get("single") and isinstance(value, str)):
            return None
        return ("a name or a list of names" if rule.get("single") else "a list of names") + null
    if kind is dict:
        return None if isinstance(value, DictConfig) else "a mapping" + null
    return None  # Any


def whole_number(value: Any, low: int, high: int | None = None, *, optional: bool = False) -> str | None:
    """None when `value` is a whole number in [low, high] (or null when `optional`), else what it must be."""
    if value is None and optional:
        return None
    allowed = f"a whole number >= {low}" + (f" and <= {high}" if high is not None else "")
    allowed += " (or null)" if optional else ""
    if isinstance(value, bool) or not isinstance(value, int):
        return allowed
    return allowed if value < low or (high is not None and value > high) else None


def real_number(value: Any, low: float, high: float | None, rule: dict[str, Any]) -> str | None:
    """None when `value` is a finite number within the bounds (open where `rule` says), else what
    it must be; booleans and texts are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "a number"
    low_open, high_open = rule.get("low_open", False), rule.get("high_open", True)
    if value < low or (low_open and value == low):
        return f"a number {'>' if low_open else '>='} {low}"
    if high is not None and (value > high or (high_open and value == high)):
        return f"a number {'<' if high_open else '<='} {high}"
    return None


def fail(key: str, value: Any, allowed: str) -> typing.NoReturn:
    raise ConfigError(f"`{key}` is {value!r}; it must be {allowed}")


def unknown(keys: Iterable[Any], allowed: Iterable[str], prefix: str) -> None:
    """Refuse the first of `keys` not in `allowed`, suggesting the closest allowed one."""
    allowed = list(allowed)
    for name in keys:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = (
                f"; did you mean `{prefix}{close[0]}`?" if close else f"; allowed keys: {', '.join(allowed)}"
            )
            raise ConfigError(f"`{prefix}{name}` is not a setting stilts knows{hint}")


@cache
def hints(schema: type) -> dict[str, Any]:
    return typing.get_type_hints(schema)


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(the base type, whether null is allowed) of `hint`: `int | None` -> (int, True),
    `tuple[str, ...]` -> (tuple, False), `dict[str, Any]` -> (dict, False)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return _unwrap(inner)[0], True
    return typing.get_origin(hint) or hint, False


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _missing_hint(node: DictConfig, f: dataclasses.Field[Any]) -> str:
    of = f" (of `{node.name}`)" if isinstance(node.get("name"), str) else ""
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return of
    # A key with a default is written by the schema's defaults node, which the yaml did not include.
    return f"{of}; a task yaml includes `/task_defaults@_here_`, a model yaml `/model_defaults@_here_`"


def _default(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
