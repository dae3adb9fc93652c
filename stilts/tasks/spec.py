"""TaskSpec: one task as its yaml under conf/task/ describes it.

The config group `conf/task/` is the registry: a task is known when its yaml exists. The yaml names
its readers, featurizer, head and metrics by `_target_`, so adding a task never edits Python lists.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from stilts.config import CONF_DIR, role_entry
from stilts.errors import ConfigError
from stilts.schema import TaskSettings
from stilts.schema_check import read_node
from stilts.signatures import build_check, check_targets

NO_TASK = "none"
# The settings a task's `hparams.<role>` supplies (stilts.config.role_setting).
ROLE_SETTINGS = ("lr", "dropout", "batch_size")


def known_tasks() -> list[str]:
    """Names of every task yaml in conf/task/ (the registry), `none` excluded."""
    return sorted(
        p.stem for p in (CONF_DIR / "task").glob("*.yaml") if p.stem != NO_TASK and not p.stem.startswith("_")
    )


@dataclass(frozen=True, kw_only=True)
class TaskSpec(TaskSettings):
    """Everything stilts needs to know about a task: its node's settings, read and checked through
    the task schema (stilts.schema.TaskSettings, whose fields it has), and the node itself.

    `lr`, `dropout` and `batch_size` are the settings of the role the task plays in its slot (the
    node's `hparams.<role>`, resolved by `${stilts_role:...}`; stilts.config.role_setting).

    Attributes:
        cfg: the whole task node, for the instantiable parts (readers, featurizer, head, metrics).
    """

    cfg: DictConfig = field(repr=False, compare=False)

    @classmethod
    def from_config(cls, node: DictConfig, key: str = "task") -> TaskSpec:
        """Build the spec from the config node at `key` (e.g. `target`), naming the key on errors.

        Every key is checked against the schema, and every `_target_` node (readers, featurizer,
        head, metrics, optim) against its callable's signature, before any data is read.
        """
        if node is None or "name" not in node:
            raise ConfigError(f"config key `{key}` holds no task; known tasks: {', '.join(known_tasks())}")
        for setting in ROLE_SETTINGS:
            if setting in node and node[setting] is None:
                raise ConfigError(missing_role_setting(node, key, setting))
        values = read_node(node, TaskSettings, key)
        unknown = [m for m in values["main_metric"] if m not in node.metrics]
        if unknown:
            raise ConfigError(f"`{key}.main_metric` names {unknown}, not in `{key}.metrics`")
        check_task_targets(node, key)
        return cls(**values, cfg=node)

    @property
    def role(self) -> str:
        """The role of this task's downstream stage: `probing` or `target`."""
        return "probing" if self.probing else "target"

    def with_labels(self, labels: list[str]) -> TaskSpec:
        """This spec with labels derived from data (`labels_from_train: true`), written into its
        node too, so the digest (the task's fingerprint) and interpolations see them."""
        cfg = copy.deepcopy(self.cfg)
        with open_dict(cfg):
            cfg.labels = list(labels)
        return dataclasses.replace(self, labels=tuple(labels), cfg=cfg)

    def digest(self) -> str:
        """A hash of the resolved task node: any change to the task's definition changes it."""
        resolved: Any = OmegaConf.to_container(self.cfg, resolve=True)
        return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


def missing_role_setting(node: DictConfig, key: str, setting: str) -> str:
    """Why `<key>.<setting>` is empty: the task has no `hparams` entry for the role of its slot."""
    role, entry = role_entry(node, key)
    task = node.get("name", key)
    if entry is None:
        roles = sorted(node.get("hparams") or {}) or "no roles"
        return (
            f"task `{task}` in slot `{key}` plays role `{role}`, but `hparams:` in "
            f"conf/task/{task}.yaml has {roles}; add `hparams.{role}` there or set "
            f"`{key}.{setting}=...` on the command line"
        )
    return f"`{key}.{setting}` is empty: set it in conf/task/{task}.yaml (`hparams.{role}.{setting}`)"


def check_task_targets(node: DictConfig, key: str) -> None:
    """Check the task's `_target_` nodes against their callables' signatures; a metric whose
    callable takes any keyword (torchmetrics) is built instead, which is cheap and reads no data."""
    where = f" (task `{node.name}`: task/{node.name}.yaml or a yaml it includes)"
    for part in ("local", "hub", "featurizer", "head"):
        value = node.get(part)
        if value is None and part in ("local", "hub"):
            continue  # a task may have local files only, or a Hub dataset only
        if not isinstance(value, DictConfig) or value.get("_target_") is None:
            raise ConfigError(f"`{key}.{part}` has no `_target_`{where}")
    for part in ("local", "hub", "featurizer", "head", "metrics", "optim"):
        check_targets(node.get(part), f"{key}.{part}", where)
    for name, metric in node.metrics.items():
        if not isinstance(metric, DictConfig) or "_target_" not in metric:
            raise ConfigError(f"`{key}.metrics.{name}` must be a mapping with a `_target_`{where}")
        build_check(metric, f"{key}.metrics.{name}", where)
