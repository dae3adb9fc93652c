"""Sweeps planned, not run: `stilts-plan` narrows the paper grid and lists each stage's
settings; `stilts-select-hparams` writes a selection that wins over the task yaml."""

from __future__ import annotations

import json

import pytest

from stilts.plan import plan, summary
from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg


def test_plan_counts_the_paper_grid() -> None:
    # The grid's axes: 12 intermediate states x 35 downstream tasks x 3 restarts = 1,260 runs.
    tasks = compose_cfg(["experiment=paper_grid"]).paper_tasks
    axes = [1 + len(tasks.intermediate.split(",")), len(f"{tasks.target},{tasks.probing}".split(",")), 3]
    assert axes == [12, 35, 3]
    # The plan composes every cell to key its intermediate training, so it plans two targets of the
    # grid here (a minute for all 1,260): every intermediate encoder is still needed, 11 x 3 restarts.
    text = summary(plan(["experiment=paper_grid", "task@target=rte,ep_pos"]))
    assert text.startswith("33 intermediate trainings")
    assert "72 downstream runs" in text


def test_plan_narrows_an_axis_from_the_command_line() -> None:
    jobs = plan(["experiment=paper_grid", "task@target=rte,cb", "restart=0"])
    assert len(jobs) == 24  # 12 intermediate states x 2 targets
    assert summary(jobs).startswith("11 intermediate trainings")


def test_select_hparams_writes_a_selection_that_wins_over_the_task_yaml(tmp_path) -> None:
    from stilts.select_hparams import best_points, main

    sweep_dir = tmp_path / "hparam_sweep"
    for i, (lr, dropout, main_score) in enumerate(
        [(2e-5, 0.2, 0.6), (1e-5, 0.1, 0.8), (1e-5, 0.1, 0.7), (3e-6, 0.1, 0.74)]
    ):
        cell = sweep_dir / f"cell{i}"
        cell.mkdir(parents=True)
        result = {
            "status": "finished",
            "intermediate": "none",
            "task": "rte",
            "restart": 0,  # a finished record names its cell (stilts.result)
            "main": main_score,
            "hparams": {"lr": lr, "dropout": dropout},
        }
        (cell / "result.json").write_text(json.dumps(result))
    assert best_points(sweep_dir) == {"rte": ((1e-5, 0.1), pytest.approx(0.75), 2)}
    main([str(sweep_dir), "--write", str(tmp_path / "mine")])
    written = tmp_path / "mine" / "selected_hparams" / "hparam_sweep.yaml"
    assert "rte:\n  target:\n    lr: 1.0e-05\n    dropout: 0.1\n" in written.read_text()
    search = f"hydra.searchpath=[file://{tmp_path / 'mine'}]"
    chosen = compose_cfg(["task@target=rte", "selected_hparams=hparam_sweep", search])
    spec = TaskSpec.from_config(chosen.target, key="target")
    assert (spec.lr, spec.dropout, spec.batch_size) == (1e-5, 0.1, 4)  # rte's own yaml: 5e-6, 0.2, 4
    default = TaskSpec.from_config(compose_cfg(["task@target=rte", search]).target, key="target")
    assert (default.lr, default.dropout) == (5e-6, 0.2)
    other = TaskSpec.from_config(
        compose_cfg(["task@target=cb", "selected_hparams=hparam_sweep", search]).target
    )
    assert (other.lr, other.dropout) == (1e-5, 0.2)  # cb is not in the selection: its yaml's point 2


def test_plan_list_shows_each_stage_settings_as_the_paper_chose_them() -> None:
    # Expected values from jiant (docs/paper_hparams.csv, its cosmosqa and rte rows): cosmosqa as
    # intermediate is point 6 (3e-6, 0.2) batch 4, rte as target point 4 (5e-6, 0.2) batch 4,
    # validation every 625 steps; seeds of restart 1; fp32 as jiant trained (docs/fidelity.md,
    # Precision #11). From jiant's base_roberta.conf: an intermediate stage at most 10,000
    # validations, a target stage 1,000 (defaults.conf), patience 20, BertAdam; edge probing
    # (base_edgeprobe.conf) no epoch limit, every 100 steps for spr1, Adam.
    (job,) = plan(
        ["experiment=paper_grid", "task@intermediate=cosmosqa", "task@target=rte", "restart=1"], True
    )
    assert job.stages == (
        "intermediate cosmosqa: lr 3e-06 dropout 0.2 batch 4 epochs 10 val every 5000 (at most 10000) "
        "patience 20 BertAdam schedule jiant precision 32-true seed 523821",
        "target rte: lr 5e-06 dropout 0.2 batch 4 epochs 10 val every 625 (at most 1000) "
        "patience 20 BertAdam schedule jiant precision 32-true seed 523822",
    )
    (job,) = plan(
        ["experiment=paper_grid", "task@intermediate=none", "task@target=ep_spr1", "restart=0"], True
    )
    assert job.stages == (
        "probing ep_spr1: lr 2e-05 dropout 0.1 batch 32 epochs none val every 100 (at most 100) "
        "patience 20 Adam schedule jiant precision 32-true seed 1111003",
    )
