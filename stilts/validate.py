"""The config checks every cell passes before any work; `stilts.cell.resolve_cell` runs them, in
this order, before it reads a setting: the task names (folder-safe, `none` only in the intermediate
slot), the schema's types, ranges and unknown-key refusal (stilts.schema, read there), the task nodes
(stilts.tasks.spec), every `_target_` node against its callable's signature (stilts.signatures), and
`restart` within the seed lists. Errors name the key, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig

from stilts.errors import ConfigError
from stilts.identity import NO_TASK
from stilts.runs import check_folder_name
from stilts.schema_check import fail, whole_number
from stilts.signatures import check_targets

MIN_SEEDS = 1
# The nodes besides the tasks and the control whose `_target_`s a cell instantiates.
PARTS = ("model", "optim", "trainer", "callbacks", "logger")


def check_slots(intermediate: DictConfig, target: DictConfig) -> None:
    """The task nodes of the two slots: their names become folder names (run dirs, data folders), and
    `none` (no task) is a choice of the intermediate slot only."""
    check_folder_name(intermediate.get("name"), "intermediate.name")
    check_folder_name(target.get("name"), "target.name")
    if target.get("name") == NO_TASK:
        raise ConfigError(
            "`task@target=none`: `none` (no task) is a choice of the intermediate slot only; "
            "choose a target or probing task for `task@target`"
        )


def check_parts(parts: dict[str, DictConfig | None], control: DictConfig | None) -> None:
    """The `_target_` nodes of `parts` (PARTS, by config key) and the `control` node."""
    for key, node in parts.items():
        check_targets(node, key)
    check_control(control)


def check_control(node: DictConfig | None) -> None:
    """A control node (conf/control/) holds `name`, `_target_` and arguments of the target's class."""
    if node is None or node.get("name") == "none":
        return
    if node.get("_target_") is None:
        raise ConfigError(f"`control` {node.get('name')!r} has no `_target_` (conf/control/*.yaml)")
    check_targets(node, "control", extra=("name",))


def check_restart(restart: Any, seed: Any, seeds: DictConfig, stages: list[str]) -> None:
    """`restart` indexes the paper's seed list (`seeds.<stage>`) of each of the cell's `stages`; beyond
    it, it would silently reuse a seed. With an explicit `seed` any whole `restart` is allowed."""
    for stage in stages:
        listed = seeds.get(stage)
        if not isinstance(listed, ListConfig) or len(listed) < MIN_SEEDS:
            raise ConfigError(f"`seeds.{stage}` must be a list of seeds, one per restart")
        if any(whole_number(s, 0) for s in listed):
            fail(f"seeds.{stage}", list(listed), "whole numbers >= 0")
        high = len(listed) - 1 if seed is None else None
        check_whole("restart", restart, high)


def check_whole(key: str, value: Any, high: int | None) -> None:
    wrong = whole_number(value, 0, high)
    if wrong is not None:
        fail(key, value, wrong)
