"""The config check every cell passes before any work: types and ranges of every numeric setting, and
no unknown key (a `+target.lrr=...` typo would otherwise be ignored silently).

Hydra's struct mode refuses unknown keys only without `+`; task nodes hold both fixed settings and
instantiable parts (readers, featurizer, head, metrics), so the check is explicit: `TASK_KEYS`
declares every key a task node may hold, with the rule for its value. Errors name the key, the value
and what is allowed.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

from omegaconf import DictConfig, ListConfig

from stilts.errors import ConfigError
from stilts.identity import NO_TASK, downstream_role
from stilts.schedule import STYLES

Rule = Callable[[Any], str | None]  # returns what is wrong, or None


def number(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = True) -> Rule:
    """A real number in [low, high) (bounds as given); booleans and texts are refused."""

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "a number"
        if value < low or (low_open and value == low):
            return f"a number {'>' if low_open else '>='} {low}"
        if high is not None and (value > high or (high_open and value == high)):
            return f"a number {'<' if high_open else '<='} {high}"
        return None

    return check


def integer(low: int, high: int | None = None, *, optional: bool = False) -> Rule:
    """A whole number in [low, high] (None allowed when `optional`)."""

    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        allowed = f"a whole number >= {low}" + (f" and <= {high}" if high is not None else "")
        allowed += " (or null)" if optional else ""
        if isinstance(value, bool) or not isinstance(value, int):
            return allowed
        if value < low or (high is not None and value > high):
            return allowed
        return None

    return check


def one_of(*choices: str) -> Rule:
    def check(value: Any) -> str | None:
        return None if value in choices else f"one of {', '.join(choices)}"

    return check


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "a non-empty text"


def anything(value: Any) -> str | None:
    return None


def mapping_or_null(value: Any) -> str | None:
    return None if value is None or isinstance(value, DictConfig) else "a mapping (or null)"


def names(value: Any) -> str | None:
    if isinstance(value, str) or (isinstance(value, ListConfig) and all(isinstance(v, str) for v in value)):
        return None
    return "a metric name or a list of metric names"


# Every key a task node may hold (stilts/conf/task/*.yaml and what the command line may set).
TASK_KEYS: dict[str, Rule] = {
    "name": text,
    "probing": boolean,
    "family": lambda v: None if v is None or (isinstance(v, str) and v) else "a family name (or null)",
    "origin": anything,
    "labels": anything,
    "labels_from_train": boolean,
    "local": mapping_or_null,
    "hub": mapping_or_null,
    "featurizer": mapping_or_null,
    "head": mapping_or_null,
    "metrics": mapping_or_null,
    "main_metric": names,
    "hparams": mapping_or_null,  # the paper's lr / dropout / batch size per role (stilts.config.role_setting)
    "lr": number(0.0, 1.0, low_open=True),
    "dropout": number(0.0, 1.0),
    "batch_size": integer(1),
    "max_epochs": integer(1, optional=True),
    "val_interval": integer(1),
    "max_vals": integer(1),
    "val_limit": integer(1, optional=True),
    "val_shuffle_seed": integer(0, optional=True),
    "patience": integer(0),
    "train_size": integer(1, optional=True),
    # The task's own optimisation (stilts/conf/optim/), replacing the run's `optim` for its stages
    # (edge probing: jiant's base_edgeprobe recipe).
    "optim": mapping_or_null,
}
# The keys of the `none` task (stilts/conf/task/none.yaml): a sweep may set them for every intermediate
# choice; they are unused when there is no intermediate stage, so null is fine.
NONE_OPTIONAL = ("lr", "dropout", "batch_size", "val_interval", "max_vals", "patience")
MODEL_KEYS: dict[str, Rule] = {
    "name": text,
    "pretrained": text,
    "revision": anything,
    "random_init": boolean,
    "encoder_weights": anything,
    "max_length": integer(8),
    "truncation": one_of("segment", "pair"),  # stilts.tasks.truncation
    "kwargs": mapping_or_null,
    "dropout_placement": one_of("head", "every_layer"),
    "architecture": anything,  # stilts.models.sources: an asset name, a folder or a Hub id (or null)
    "tokenizer": anything,
    "attn_implementation": text,
}
FORGETTING_KEYS: dict[str, Rule] = {
    "enabled": boolean,
    "text": text,
    "max_sentences": integer(1),
    "batch_size": integer(1),
    "mask_probability": number(0.0, 1.0, low_open=True),
    "seed": integer(0),
    "max_tokens": integer(2),
    "mlm_head": anything,
}
# Top-level keys of stilts/conf/train.yaml and its config groups.
ROOT_KEYS = (
    "intermediate target model optim trainer callbacks logger paths data restart seed seeds "
    "keep_checkpoints save_encoder force cell_name sweep_name stage paper_tasks selected_hparams "
    "forgetting control schedule"
).split()
SCHEDULE_KEYS: dict[str, Rule] = {"style": one_of(*STYLES)}
MIN_SEEDS = 1


def check_config(cfg: DictConfig) -> None:
    """Refuse a cell config with an unknown key or a value of the wrong type or range.

    Raises:
        ConfigError: naming the first offending key, its value and what is allowed.
    """
    unknown(cfg.keys(), ROOT_KEYS, "")
    if cfg.target.get("name") == NO_TASK:
        raise ConfigError(
            "`task@target=none`: `none` (no task) is a choice of the intermediate slot only; "
            "choose a target or probing task for `task@target`"
        )
    check_task(
        cfg.intermediate,
        "intermediate",
        optional=NONE_OPTIONAL if cfg.intermediate.get("name") == NO_TASK else (),
    )
    check_task(cfg.target, "target")
    check_node(cfg.model, "model", MODEL_KEYS)
    if cfg.get("forgetting") is not None:
        check_node(cfg.forgetting, "forgetting", FORGETTING_KEYS)
    if cfg.get("schedule") is not None:
        check_node(cfg.schedule, "schedule", SCHEDULE_KEYS)
    check_trainer(cfg.trainer)
    check_control(cfg.get("control"))
    check_value("seed", cfg.get("seed"), integer(0, optional=True))
    for key in ("keep_checkpoints", "save_encoder", "force"):
        check_value(key, cfg.get(key), boolean)
    check_value("data.num_workers", cfg.data.get("num_workers", 0), integer(0))
    check_restart(cfg)


def check_task(node: DictConfig, key: str, optional: Iterable[str] = ()) -> None:
    rules = dict(TASK_KEYS)
    for name in optional:
        rules[name] = (lambda rule: lambda v: None if v is None else rule(v))(rules[name])
    check_node(node, key, rules)


def check_node(node: DictConfig, key: str, rules: dict[str, Rule]) -> None:
    """Check every key of `node` (at config key `key`) against `rules`."""
    unknown(node.keys(), rules, f"{key}.")
    for name, rule in rules.items():
        if name in node:
            check_value(f"{key}.{name}", node.get(name), rule)


def check_value(key: str, value: Any, rule: Rule) -> None:
    wrong = rule(value)
    if wrong is not None:
        raise ConfigError(f"`{key}` is {value!r}; it must be {wrong}")


def unknown(keys: Iterable[Any], allowed: Iterable[str], prefix: str) -> None:
    allowed = list(allowed)
    for name in keys:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = (
                f"; did you mean `{prefix}{close[0]}`?" if close else f"; allowed keys: {', '.join(allowed)}"
            )
            raise ConfigError(f"`{prefix}{name}` is not a setting stilts knows{hint}")


def check_trainer(node: DictConfig) -> None:
    """The trainer node's keys must be `lightning.Trainer` arguments (stilts sets some itself)."""
    import lightning as L

    allowed = [p for p in inspect.signature(L.Trainer.__init__).parameters if p != "self"] + ["_target_"]
    unknown(node.keys(), allowed, "trainer.")


def check_control(node: DictConfig | None) -> None:
    """A control node (stilts/conf/control/) holds `name`, `_target_` and arguments of the target's class."""
    if node is None or node.get("name") == "none":
        return
    from hydra.utils import get_class

    try:
        cls = get_class(str(node.get("_target_")))
    except Exception as err:  # noqa: BLE001 - any import failure is a config error here
        raise ConfigError(
            f"`control._target_` is {node.get('_target_')!r}: cannot import it ({err})"
        ) from err
    params = inspect.signature(cls.__init__).parameters
    allowed = [p for p in params if p not in ("self", "encoder", "context")] + ["name", "_target_"]
    unknown(node.keys(), allowed, "control.")


def check_restart(cfg: DictConfig) -> None:
    """`restart` indexes the paper's seed list of each stage; beyond it, it would silently reuse a seed."""
    restart = cfg.get("restart")
    stages = [downstream_role(cfg)] + ([] if cfg.intermediate.get("name") == NO_TASK else ["intermediate"])
    for stage in stages:
        seeds = cfg.seeds.get(stage)
        if not isinstance(seeds, ListConfig) or len(seeds) < MIN_SEEDS:
            raise ConfigError(f"`seeds.{stage}` must be a list of seeds, one per restart")
        check_value(
            f"seeds.{stage}",
            list(seeds),
            lambda v: None if all(integer(0)(s) is None for s in v) else "whole numbers >= 0",
        )
        if cfg.get("seed") is None:
            check_value("restart", restart, integer(0, len(seeds) - 1))
            continue
        check_value("restart", restart, integer(0))
