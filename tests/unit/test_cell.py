"""A cell's typed settings (stilts.cell) agree with its identity (stilts.identity): each stage trains
with the task, seed, optimisation and control that key the cell, stilts-rank resolves the cells of the
grid, and the records name a cell as its config does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from stilts.cell import resolve_cell
from stilts.controls import control_material
from stilts.identity import identity_material, training_settings
from tests.helpers import compose_cfg, tiny_overrides, write_cell_result

CELLS = [
    ["task@intermediate=mnli", "task@target=rte"],
    ["task@intermediate=sst2", "task@target=cb", "control=l2sp", "restart=2"],
    ["task@intermediate=none", "task@target=ep_srl", "seed=7"],  # the task's own optim, no intermediate
    ["task@intermediate=qamr", "task@target=se_bshift", "schedule=epochs", "optim=adamw"],  # probing
]


def plain(node: object) -> object:
    return OmegaConf.to_container(node, resolve=True)


@pytest.mark.parametrize("overrides", CELLS, ids=[" ".join(c) for c in CELLS])
def test_each_stage_trains_with_what_keys_the_cell(overrides: list[str]) -> None:
    cfg = compose_cfg(["model=tiny", *overrides])
    cell = resolve_cell(cfg)
    identity = identity_material(cfg)
    assert cell.name == cfg.cell_name and cell.identity == identity
    assert training_settings(cell.trainer) == identity.shared["trainer"]
    assert cell.schedule == (identity.shared["schedule"] or {}).get("style")
    keyed = [(cell.downstream, identity.downstream)]
    if identity.intermediate is None:
        assert cell.intermediate is None
    else:
        assert cell.intermediate is not None
        keyed.append((cell.intermediate, identity.intermediate))
        assert control_material(cell.intermediate.control) == identity.intermediate["control"]
    assert cell.downstream.control is None  # a control acts on the intermediate stage only
    for stage, material in keyed:
        assert stage.seed == material["seed"]
        assert plain(stage.optim) == material["optim"]
        task = material["task"]
        assert (stage.spec.name, stage.spec.lr, stage.spec.dropout) == (
            task["name"],
            task["lr"],
            task["dropout"],
        )
        assert (stage.spec.batch_size, stage.spec.max_epochs) == (task["batch_size"], task["max_epochs"])


def test_rank_resolves_the_cells_of_the_grid() -> None:
    # stilts-rank composes rank.yaml (train.yaml and its own keys) and resolves its cells unchecked:
    # the same names and identities, so a candidate's cached intermediate encoder is the grid's.
    cell = ["model=tiny", "task@intermediate=sst2", "task@target=rte"]
    trained = resolve_cell(compose_cfg(cell))
    ranked = resolve_cell(compose_cfg(cell, config_name="rank"), check=False)
    assert (ranked.name, ranked.identity) == (trained.name, trained.identity)


def test_a_written_record_names_the_cell_as_its_config_does(tmp_path: Path) -> None:
    overrides = ["task@intermediate=mnli", "task@target=rte", "control=l2sp"]
    run_dir = tmp_path / "run"
    record = write_cell_result(run_dir, overrides, [1, 0], [1, 1], 0.5, {"acc": 0.5})
    cfg = compose_cfg([*tiny_overrides(tmp_path / "unused", output_dir=tmp_path), *overrides])
    on_disk = json.loads((run_dir / "result.json").read_text())
    assert on_disk["cell"] == record.cell == cfg.cell_name == on_disk["identity"]["name"]
    assert (on_disk["intermediate"], on_disk["control"], on_disk["task"]) == ("mnli", "l2sp", "rte")
