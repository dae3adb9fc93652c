"""Raw field values of task data: their JSON types, and labels mapped to label indices.

Readers check every value they take from a file: a text field holds a string, an index holds a whole
number, a label is one of the task's raw label values. A mismatch is an error that names the field,
what it holds and what was expected, never a value silently turned into the text "None".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stilts.errors import DataFormatError, StiltsError

UNLABELED = -1
KIND_NAMES: dict[Any, str] = {str: "a string", int: "a whole number", list: "a list", dict: "an object"}


def json_kind(value: Any) -> str:
    """The JSON name of a value's type, for messages (`null`, not Python's `NoneType`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _shown(value: Any) -> str:
    """` (['a', 'b'])`: the value itself after its kind, when that adds anything."""
    return "" if value is None else f" ({value!r:.40})"


def text_value(value: Any, key: str, path: Path | str, line: int | None) -> str:
    """`value` if it is a string, else a DataFormatError naming the field and what it holds."""
    if not isinstance(value, str):
        raise DataFormatError(
            path,
            line,
            f"field `{key}` is {json_kind(value)}{_shown(value)}, expected a string of text; "
            "fix or remove this record",
        )
    return value


def field(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...] = str) -> Any:
    """`obj[key]`, checked for its type; a ValueError names the field (readers add file and line)."""
    if not isinstance(obj, Mapping) or key not in obj:
        raise ValueError(f"missing field `{key}`")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):  # JSON true is no index
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise ValueError(
            f"field `{key}` is {json_kind(value)}{_shown(value)}, expected {expected}; "
            "fix or remove this record"
        )
    return value


class LabelMap:
    """Maps raw label values (strings, bools, ints) to label indices, rejecting unknown values.

    Values match by type and value, so JSON `1` is not `"1"` and `true` is not `1`. The one
    exception: where the raw values are JSON booleans, the strings "true"/"false" (any case) count
    as the booleans, since some conversions of SuperGLUE write them so.
    """

    def __init__(self, labels: Sequence[str], raw_values: Sequence[Any] | None) -> None:
        values = list(raw_values) if raw_values is not None else list(labels)
        if len(values) != len(labels):
            raise StiltsError(f"label_values {values} do not match labels {list(labels)} one to one")
        self.labels = list(labels)
        self.values = values
        self.index = {self._key(v): i for i, v in enumerate(values)}
        if all(isinstance(v, bool) for v in values):
            self.index |= {self._key(str(v).lower()): i for i, v in enumerate(values)}

    @staticmethod
    def _key(value: Any) -> tuple[str, str]:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower()
        return type(value).__name__, str(value)

    def __call__(self, value: Any, path: Path | str, line: int | None) -> int:
        if value is None or value == "":
            return UNLABELED
        found = self.index.get(self._key(value))
        if found is None:
            expected = ", ".join(json.dumps(v) if not isinstance(v, str) else repr(v) for v in self.values)
            kinds = sorted({json_kind(v) for v in self.values})
            raise DataFormatError(
                path,
                line,
                f"label {value!r} is not one of the expected values {expected} (found {json_kind(value)}; "
                f"expected {' or '.join(kinds)}, meaning {self.labels}); fix the label or the task's "
                "`label_values`",
            )
        return found
