"""TaskSpec: one task as its yaml under stilts/conf/task/ describes it.

The config group `stilts/conf/task/` is the registry: a task is known when its yaml exists. The yaml names
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

NO_TASK = "none"
# The paper's defaults where a task yaml is silent (jiant base_roberta.conf, defaults.conf): validate
# every 5,000 steps on the first 5,000 dev instances (defaults.conf:158), at most 1,000 validations
# (target_train_max_vals), early stopping with patience 20.
DEFAULT_VAL_INTERVAL = 5000
DEFAULT_VAL_LIMIT = 5000
DEFAULT_MAX_VALS = 1000
DEFAULT_PATIENCE = 20


def known_tasks() -> list[str]:
    """Names of every task yaml in stilts/conf/task/ (the registry), `none` excluded."""
    return sorted(
        p.stem for p in (CONF_DIR / "task").glob("*.yaml") if p.stem != NO_TASK and not p.stem.startswith("_")
    )


@dataclass(frozen=True)
class TaskSpec:
    """Everything stilts needs to know about a task, read from its config node.

    Attributes:
        name: task name (its yaml's name under stilts/conf/task/), also the W&B value and result key.
        probing: whether the task is a probing task (its downstream stage is then `probing`).
        labels: label names in index order (empty for tasks without a fixed label set).
        main_metric: a metric name, or a list of names whose mean is the paper's score.
        lr, dropout, batch_size: the settings of the role the task plays in its slot (the node's
            `hparams.<role>`, resolved by `${stilts_role:...}`; stilts.config.role_setting).
        max_epochs: the epoch limit (10; 40 for COPA, CB and WSC; None for none: edge probing).
        val_interval: training steps between validations.
        max_vals: the most validations a stage runs (jiant's `max_vals`, stilts.schedule).
        patience: validations without improvement that jiant tolerates (it stops at the next one).
        cfg: the whole task node, for the instantiable parts (readers, featurizer, head, metrics).
    """

    name: str
    probing: bool
    labels: tuple[str, ...]
    main_metric: tuple[str, ...]
    lr: float
    dropout: float
    batch_size: int
    max_epochs: int | None
    val_interval: int
    max_vals: int
    patience: int
    val_limit: int | None
    val_shuffle_seed: int | None
    train_size: int | None
    cfg: DictConfig = field(repr=False, compare=False)

    @classmethod
    def from_config(cls, node: DictConfig, key: str = "task") -> TaskSpec:
        """Build the spec from the config node at `key` (e.g. `target`), naming the key on errors."""
        if node is None or "name" not in node:
            raise ConfigError(f"config key `{key}` holds no task; known tasks: {', '.join(known_tasks())}")
        required_keys = ("featurizer", "head", "metrics", "main_metric")
        for required in (*required_keys, "lr", "dropout", "batch_size", "max_epochs"):
            if required not in node:
                raise ConfigError(f"task `{node.name}`: config key `{key}.{required}` is missing")
        main = node.main_metric
        main_names = (main,) if isinstance(main, str) else tuple(main)
        unknown = [m for m in main_names if m not in node.metrics]
        if unknown:
            raise ConfigError(f"`{key}.main_metric` names {unknown}, not in `{key}.metrics`")
        for setting in ("lr", "dropout", "batch_size"):
            if node[setting] is None:
                raise ConfigError(missing_role_setting(node, key, setting))
        return cls(
            name=str(node.name),
            probing=bool(node.get("probing", False)),
            labels=tuple(str(x) for x in node.get("labels") or ()),
            main_metric=main_names,
            lr=float(node.lr),
            dropout=float(node.dropout),
            batch_size=int(node.batch_size),
            max_epochs=None if node.max_epochs is None else int(node.max_epochs),
            val_interval=int(node.get("val_interval", DEFAULT_VAL_INTERVAL)),
            max_vals=int(node.get("max_vals", DEFAULT_MAX_VALS)),
            patience=int(node.get("patience", DEFAULT_PATIENCE)),
            val_limit=None
            if node.get("val_limit", DEFAULT_VAL_LIMIT) is None
            else int(node.get("val_limit", DEFAULT_VAL_LIMIT)),
            val_shuffle_seed=None if node.get("val_shuffle_seed") is None else int(node.val_shuffle_seed),
            train_size=None if node.get("train_size") is None else int(node.train_size),
            cfg=node,
        )

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
            f"stilts/conf/task/{task}.yaml has {roles}; add `hparams.{role}` there or set "
            f"`{key}.{setting}=...` on the command line"
        )
    return f"`{key}.{setting}` is empty: set it in stilts/conf/task/{task}.yaml (`hparams.{role}.{setting}`)"
