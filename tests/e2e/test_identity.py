"""One cell identity (issue 11): a changed dataset reruns exactly the cells that read it, superseded
runs leave the folders the analysis reads, and the sweep summary and `stilts-plan` agree with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stilts.analysis import deduplicate, load_results
from stilts.plan import plan, summary
from tests.helpers import FIXTURES, REPO, cli, tiny_overrides

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}
GRID = ["task@intermediate=none,cb", "task@target=rte,boolq"]


def arguments(tmp_path: Path, *grid: str) -> list[str]:
    sweep_dir = f"hydra.sweep.dir={tmp_path / 'sweep'}"  # an explicit sweep dir, as users pass it
    return [*tiny_overrides(tmp_path, tmp_path / "data"), "+trainer.max_steps=2", sweep_dir, *grid]


def launch(tmp_path: Path, *grid: str) -> dict[str, list[str]]:
    command = cli("train", "-m", *arguments(tmp_path, *grid))
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **OFFLINE}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((tmp_path / "sweep" / "summary.json").read_text())


def tasks_of(cells: list[str]) -> list[str]:
    return sorted(f"{name.split('__')[0]}>{name.split('__')[1]}" for name in cells)


@pytest.mark.slow
def test_changed_data_reruns_exactly_the_cells_that_read_it(tmp_path: Path) -> None:
    for task in ("rte", "boolq", "cb"):
        shutil.copytree(FIXTURES / task, tmp_path / "data" / task)
    first = launch(tmp_path, *GRID)
    assert len(first["done"]) == 4 and not first["failed"]
    assert summary(plan(arguments(tmp_path, *GRID))).endswith("4 finished, 0 failed, 0 to run")

    # The target data of two cells changes: exactly those two run again, the old runs move aside.
    val = tmp_path / "data" / "boolq" / "val.jsonl"
    val.write_text("".join(val.read_text().splitlines(keepends=True)[:-1]))
    second = launch(tmp_path, *GRID)
    assert tasks_of(second["done"]) == ["cb>boolq", "none>boolq"]
    assert tasks_of(second["skipped"]) == ["cb>rte", "none>rte"]
    assert len(list((tmp_path / "sweep" / ".superseded").iterdir())) == 2

    # The analysis reads the current runs only.
    kept, dropped = deduplicate(load_results(tmp_path / "sweep"))
    assert len(kept) == 4 and dropped.empty
    for record in (json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/result.json")):
        lines = (tmp_path / "data" / record["task"] / "val.jsonl").read_text().splitlines()
        assert record["val_examples"] == len([line for line in lines if line.strip()])

    # The intermediate task's data changes: the plan sees the two cells that start from its encoder.
    train = tmp_path / "data" / "cb" / "train.jsonl"
    train.write_text("".join(train.read_text().splitlines(keepends=True)[:-2]))
    jobs = plan(arguments(tmp_path, *GRID))
    rerun = [" ".join(o for o in j.overrides if o.startswith("task@")) for j in jobs if j.status == "to run"]
    assert sorted(rerun) == [
        "task@intermediate=cb task@target=boolq",
        "task@intermediate=cb task@target=rte",
    ]

    # A narrowed relaunch: its summary covers its own cells only.
    third = launch(tmp_path, "task@intermediate=none,cb", "task@target=rte")
    assert tasks_of(third["done"]) == ["cb>rte"] and tasks_of(third["skipped"]) == ["none>rte"]
    assert not third["failed"] and not third["unfinished"]


@pytest.mark.slow
def test_two_jobs_of_the_same_cell_run_it_once(tmp_path: Path) -> None:
    # A repeated value makes two identical jobs; run side by side they meet in one run dir: the
    # second waits on the dir's lock, then finds the cell finished.
    shutil.copytree(FIXTURES / "rte", tmp_path / "data" / "rte")
    command = cli(
        "train",
        "-m",
        *arguments(tmp_path, "task@target=rte", "restart=0,0"),
        "hydra/launcher=parallel",
        "hydra.launcher.n_jobs=2",
    )
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **OFFLINE}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    (cell,) = [p for p in (tmp_path / "sweep").iterdir() if p.is_dir()]
    assert json.loads((cell / "result.json").read_text())["status"] == "finished"
    assert "already finished" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
