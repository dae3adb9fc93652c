"""Strict JSON for the readers: a duplicated key or runaway nesting is malformed input, never read."""

from __future__ import annotations

import json
from typing import Any


class JsonProblem(ValueError):
    """JSON text that parses but cannot be trusted (a duplicated key) or cannot be read (too deep)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise JsonProblem(f"the key {key!r} appears twice in one object; keep one of them")
        seen[key] = value
    return seen


def strict_json(text: str) -> Any:
    """`json.loads` that refuses duplicated keys and over-deep nesting (both as `JsonProblem`).

    Raises:
        json.JSONDecodeError: the text is not JSON.
        JsonProblem: a duplicated key, or nesting deeper than Python can parse.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise JsonProblem("JSON nested too deeply to read (is the file corrupt?)") from None
