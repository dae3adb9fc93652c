"""The order and groups of tasks in tables and figures, taken from configs and results, never from
lists of names in code.

- Order: the paper's (conf/paper_tasks.yaml: its Figure 2 columns and rows); tasks it does not list
  (your own) come after the listed ones of their group, alphabetically.
- Group of a downstream task: `target` for target tasks; for probing tasks, their family (the task
  yaml's `family`, set by its conf/task_family/ base: edge_probing, senteval, acceptability...).
  Result records carry `role` and `family` (`groups_from_results`); a task without records is looked
  up in its yaml (`config_group`), read as a file, so the analysis needs no Hydra composition.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from stilts.config import CONF_DIR

TARGET = "target"
PROBING = "probing"


@functools.cache
def paper_order() -> dict[str, list[str]]:
    """`intermediate`, `target` and `probing` task names in the paper's order."""
    node = OmegaConf.load(CONF_DIR / "paper_tasks.yaml")
    return {key: [name.strip() for name in str(value).split(",")] for key, value in node.items()}


def _load(path: Path) -> DictConfig | None:
    return OmegaConf.load(path) if path.is_file() else None  # type: ignore[return-value]


@functools.cache
def config_group(task: str) -> str | None:
    """A task's group from its yaml and the bases its defaults list names; None if there is no yaml."""
    node = _load(CONF_DIR / "task" / f"{task}.yaml")
    if node is None:
        return None
    probing, family = node.get("probing"), node.get("family")
    bases = list(node.get("defaults") or [])
    while bases:  # follow `/task_family/<name>@_here_` entries to the family key
        entry = str(bases.pop(0))
        if not entry.startswith("/task_family/"):
            continue
        base = _load(CONF_DIR / "task_family" / f"{entry.removeprefix('/task_family/').split('@')[0]}.yaml")
        if base is None:
            continue
        probing = probing if probing is not None else base.get("probing")
        family = family or base.get("family")
        bases += list(base.get("defaults") or [])
    return (family or PROBING) if probing else TARGET


def groups_from_results(frame: pd.DataFrame) -> dict[str, str]:
    """Task -> group from result records (`role`, `family` columns)."""
    groups: dict[str, str] = {}
    for row in frame[["task", "role", "family"]].drop_duplicates().itertuples(index=False):
        family = row.family if isinstance(row.family, str) and row.family else None
        groups[row.task] = TARGET if row.role == TARGET else (family or config_group(row.task) or PROBING)
    return groups


def task_group(task: str, groups: Mapping[str, str] | None = None) -> str:
    """The group of `task`: from `groups` (results) when given, else from its yaml."""
    if groups and task in groups:
        return groups[task]
    return config_group(task.split(" [")[0]) or TARGET


def group_order(groups: Iterable[str]) -> list[str]:
    """`target` first, then the probing families in the order the paper lists their tasks, then others."""
    seen = [config_group(task) for task in paper_order()["probing"]]
    known = [TARGET, *dict.fromkeys(g for g in seen if g)]
    return sorted(set(groups), key=lambda g: (known.index(g) if g in known else len(known), g))


def order_tasks(tasks: Iterable[str], groups: Mapping[str, str] | None = None) -> list[str]:
    """Downstream tasks grouped (see `group_order`), in the paper's order within a group."""
    tasks = list(dict.fromkeys(tasks))
    paper = paper_order()
    listed = paper["target"] + paper["probing"]
    rank = {group: i for i, group in enumerate(group_order(task_group(t, groups) for t in tasks))}

    def key(task: str) -> tuple[int, int, str]:
        name = task.split(" [")[0]  # a task's row per setting (`rte [lr=1e-05]`) sorts as the task
        return rank[task_group(task, groups)], listed.index(name) if name in listed else len(listed), task

    return sorted(tasks, key=key)


def order_intermediates(names: Iterable[str], baseline: str = "none") -> list[str]:
    """Intermediate tasks in the paper's column order; unknown ones after, alphabetically."""
    rank = {name: i for i, name in enumerate(paper_order()["intermediate"])}
    return sorted(set(names) - {baseline}, key=lambda n: (rank.get(n, len(rank)), n))
