"""Sweeps as users launch them: joblib and submitit launchers, relaunches, failures, the plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stilts.plan import plan, summary
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REPO, cli, compose_cfg, tiny_overrides

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}


def sweep(
    tmp_path: Path, *overrides: str, data_dir: Path = FIXTURES, status: int = 0
) -> subprocess.CompletedProcess:
    settings = tiny_overrides(tmp_path, data_dir, output_dir=tmp_path / "out")
    command = cli("train", "-m", *settings, "+trainer.max_steps=3", *overrides)
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **OFFLINE}, capture_output=True, text=True)
    assert done.returncode == status, done.stderr[-4000:]
    return done


def results(tmp_path: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out" / "multirun").rglob("result.json")
    }


# Cells that differ only in `seed` (issue 11): each gets a run dir of its own.
GRID = ["task@intermediate=none,cb,copa", "task@target=boolq,wsc", "seed=0,1"]


@pytest.mark.slow
def test_parallel_grid_trains_each_intermediate_once_and_relaunch_trains_nothing(tmp_path) -> None:
    sweep(tmp_path, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", *GRID)
    first = results(tmp_path)
    assert len(first) == 12 and all(r["status"] == "finished" for r in first.values())
    assert len({r["cell"] for r in first.values()}) == 12  # 12 run dirs, one result each
    assert sorted({r["seed"] for r in first.values()}) == [0, 1]
    trained = [r for r in first.values() if r["encoder_source"].get("trained_now")]
    # 2 intermediate tasks x 2 seeds, each trained by exactly one of the cells that need it
    assert len(trained) == 4
    assert len({r["encoder_source"]["cache_key"] for r in first.values() if r["intermediate"] != "none"}) == 4
    entries = [
        p
        for p in (tmp_path / "cache" / "intermediate").iterdir()
        if p.is_dir() and not p.name.startswith(".")
    ]
    assert len(entries) == 4

    args = [*tiny_overrides(tmp_path, output_dir=tmp_path / "out"), "+trainer.max_steps=3", *GRID]
    jobs = plan(args)
    assert "4 intermediate trainings (0 still needed" in summary(jobs)
    assert "12 downstream runs: 12 finished" in summary(jobs)

    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("result.json")}
    done = sweep(tmp_path, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", *GRID)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing was run again
    assert "0 done, 12 skipped" in done.stderr + done.stdout


def test_failing_cells_are_recorded_and_the_sweep_goes_on(tmp_path) -> None:
    data = tmp_path / "data"
    for task in ("rte", "cb"):
        shutil.copytree(FIXTURES / task, data / task)
    (data / "cb" / "val.jsonl").write_text('{"premise": "broken\n')
    # `none` as a target is an invalid choice: its cell fails with a record, the others run; the
    # sweep then exits 1 (after its summary), so a script checking `$?` sees the failures.
    done = sweep(tmp_path, "task@target=rte,cb,none", data_dir=data, status=1)
    outcome = {r["task"]: r for r in results(tmp_path).values()}
    assert outcome["rte"]["status"] == "finished"
    assert outcome["cb"]["status"] == "failed" and "val.jsonl:1" in outcome["cb"]["error"]
    assert outcome["none"]["status"] == "failed" and "intermediate slot only" in outcome["none"]["error"]
    assert "1 done, 0 skipped, 2 failed, 0 unfinished" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout  # input errors are named, not dumped
    summary_file = json.loads(next((tmp_path / "out" / "multirun").rglob("summary.json")).read_text())
    assert len(summary_file["failed"]) == 2


@pytest.mark.slow
def test_submitit_local_executor_runs_a_two_cell_sweep(tmp_path) -> None:
    sweep(tmp_path, "hydra/launcher=local", "task@target=rte,sst2")
    assert {r["task"] for r in results(tmp_path).values()} == {"rte", "sst2"}


@pytest.mark.slow  # the plan composes each of the 1,260 cells to key its intermediate training
def test_plan_counts_the_paper_grid() -> None:
    text = summary(plan(["experiment=paper_grid"]))
    assert text.startswith("33 intermediate trainings")
    assert "1260 downstream runs" in text


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


@pytest.mark.slow
def test_two_process_ddp_inside_a_multirun_writes_results_once(tmp_path) -> None:
    # Lightning starts DDP ranks by re-running the command line; inside a Hydra multirun that would
    # start the whole sweep again in every rank unless stilts narrows it to the job (launch.py).
    sweep(
        tmp_path,
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "task@intermediate=rte",
        "task@target=cb,sst2",
    )
    outcome = results(tmp_path)
    assert sorted(r["task"] for r in outcome.values()) == ["cb", "sst2"]
    assert all(r["status"] == "finished" for r in outcome.values())
    for cell in (tmp_path / "out" / "multirun" / "default").iterdir():
        if not cell.is_dir():
            continue
        rows = [json.loads(line) for line in (cell / "predictions.jsonl").read_text().splitlines()]
        result = json.loads((cell / "result.json").read_text())
        assert sorted(r["idx"] for r in rows) == list(range(result["val_examples"]))  # both ranks' shards
    cache = [p.name for p in (tmp_path / "cache" / "intermediate").iterdir() if not p.name.endswith(".lock")]
    assert len(cache) == 1  # trained once, published once, no rank scratch left behind


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
