"""Sweeps as users launch them: joblib and submitit launchers, relaunches, failures, DDP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stilts.plan import plan, summary
from tests.helpers import FIXTURES, REPO, cli, tiny_overrides

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
