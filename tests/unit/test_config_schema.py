"""The typed config schema (stilts.schema) and the `_target_` signature check (stilts.signatures):
every shipped yaml composes, passes the check and names only arguments its callables take. (A cell
refusing a misspelt argument: tests/integration; the command line: tests/e2e/test_config_schema.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from stilts.cell import resolve_cell
from stilts.config import CONF_DIR
from stilts.errors import ConfigError
from stilts.tasks.spec import known_tasks
from tests.helpers import compose_cfg, tiny_overrides


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["control=ewc", "+control.lamda=1.0"], ["`control.lamda`", "`control.lam`", "EWC"]),
        (["+optim.optimizer.bettas=[0.9,0.99]"], ["`optim.optimizer.bettas`", "`optim.optimizer.betas`"]),
        (["+callbacks.early_stopping.patiance=3"], ["`callbacks.early_stopping.patiance`", "patience"]),
        (["task@target=ep_srl", "+target.head.num_spanz=2"], ["`target.head.num_spanz`", "num_spans"]),
        (
            ["target.head._target_=stilts.models.heads.NoSuchHead"],
            ["`target.head._target_`", "cannot import"],
        ),
        (["target.featurizer=null"], ["`target.featurizer` is None; it must be a mapping"]),
        (["~target.head._target_"], ["`target.head` has no `_target_`", "task/rte.yaml"]),
        (["target.max_vals=0"], ["`target.max_vals` is 0", ">= 1"]),
        (["~target.val_interval"], ["`target.val_interval` is missing", "`/task_defaults@_here_`"]),
        (["model.truncation=longest"], ["`model.truncation` is 'longest'", "one of segment, pair"]),
        (["+data.workers=2"], ["`data.workers` is not a setting", "`data.num_workers`"]),
        (["forgetting.mask_probability=0"], ["`forgetting.mask_probability` is 0", "> 0.0"]),
    ],
)
def test_other_target_nodes_and_schema_ranges_are_checked(
    tmp_path: Path, overrides: list[str], expected: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_cell(compose_cfg([*tiny_overrides(tmp_path), *overrides]))
    for text in expected:
        assert text in str(caught.value)


def test_the_none_task_leaves_its_unused_settings_null_but_still_refuses_typos() -> None:
    resolve_cell(compose_cfg(["model=tiny", "task@intermediate=none"]))  # lr, dropout, batch null
    with pytest.raises(ConfigError, match="`intermediate.lr` is 'fast'"):
        resolve_cell(compose_cfg(["model=tiny", "intermediate.lr=fast"]))


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


CELLS = [
    *[[f"task@intermediate={t}", f"task@target={t}"] for t in known_tasks()],
    *[
        [f"{group}={choice}"]
        for group in ("control", "optim", "schedule", "trainer", "logger")
        for choice in choices(group)
    ],
    *[[f"experiment={choice}"] for choice in choices("experiment")],
]


@pytest.mark.parametrize("overrides", CELLS, ids=[" ".join(c) for c in CELLS])
def test_every_shipped_yaml_composes_and_passes_the_check(overrides: list[str]) -> None:
    resolve_cell(compose_cfg(["model=tiny", *overrides]))


@pytest.mark.parametrize("model", choices("model"))
def test_every_model_yaml_passes_the_check(model: str) -> None:
    resolve_cell(compose_cfg([f"model={model}"]))
