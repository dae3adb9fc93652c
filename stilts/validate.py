"""The config check every cell passes before any work: the schema's types, ranges and unknown-key
refusal (stilts.schema), every `_target_` node against its callable's signature (stilts.signatures),
and the rules a schema cannot state: the `none` task only in the intermediate slot, its settings
unused, and `restart` within the seed lists. Errors name the key, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig

from stilts.errors import ConfigError
from stilts.identity import NO_TASK, downstream_role
from stilts.schema import RootSettings, TaskSettings
from stilts.schema_check import fail, read_node, whole_number
from stilts.signatures import check_targets
from stilts.tasks.spec import TaskSpec

MIN_SEEDS = 1


def check_config(cfg: DictConfig) -> None:
    """Refuse a cell config with an unknown key, a value of the wrong type or range, or a `_target_`
    node with an argument its callable does not take.

    Raises:
        ConfigError: naming the first offending key, its value and what is allowed.
    """
    if cfg.target.get("name") == NO_TASK:
        raise ConfigError(
            "`task@target=none`: `none` (no task) is a choice of the intermediate slot only; "
            "choose a target or probing task for `task@target`"
        )
    read_node(cfg, RootSettings, "")
    if cfg.intermediate.get("name") == NO_TASK:
        # No intermediate stage: a sweep may still set its settings for every choice (unused).
        read_node(cfg.intermediate, TaskSettings, "intermediate", nullable=True, complete=False)
    else:
        TaskSpec.from_config(cfg.intermediate, key="intermediate")
    TaskSpec.from_config(cfg.target, key="target")
    for key in ("model", "optim", "trainer", "callbacks", "logger"):
        check_targets(cfg.get(key), key)
    check_control(cfg.get("control"))
    check_restart(cfg)


def check_control(node: DictConfig | None) -> None:
    """A control node (conf/control/) holds `name`, `_target_` and arguments of the target's class."""
    if node is None or node.get("name") == "none":
        return
    if node.get("_target_") is None:
        raise ConfigError(f"`control` {node.get('name')!r} has no `_target_` (conf/control/*.yaml)")
    check_targets(node, "control", extra=("name",))


def check_restart(cfg: DictConfig) -> None:
    """`restart` indexes the paper's seed list of each stage; beyond it, it would silently reuse a seed."""
    restart = cfg.get("restart")
    stages = [downstream_role(cfg)] + ([] if cfg.intermediate.get("name") == NO_TASK else ["intermediate"])
    for stage in stages:
        seeds = cfg.seeds.get(stage)
        if not isinstance(seeds, ListConfig) or len(seeds) < MIN_SEEDS:
            raise ConfigError(f"`seeds.{stage}` must be a list of seeds, one per restart")
        if any(whole_number(s, 0) for s in seeds):
            fail(f"seeds.{stage}", list(seeds), "whole numbers >= 0")
        high = len(seeds) - 1 if cfg.get("seed") is None else None
        check_whole("restart", restart, high)


def check_whole(key: str, value: Any, high: int | None) -> None:
    wrong = whole_number(value, 0, high)
    if wrong is not None:
        fail(key, value, wrong)
