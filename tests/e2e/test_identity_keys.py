"""`stilts-plan`'s count equals what a real sweep trains (issue 21), one identity function keying both.
(The identity itself: tests/unit/test_identity_keys.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from stilts.plan import plan, summary
from tests.helpers import REPO, cli, tiny_overrides

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}


def sweep(tmp_path: Path, *grid: str) -> subprocess.CompletedProcess:
    command = cli("train", "-m", *sweep_arguments(tmp_path, *grid))
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **OFFLINE}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def sweep_arguments(tmp_path: Path, *grid: str) -> list[str]:
    return [*tiny_overrides(tmp_path), "+trainer.max_steps=2", f"hydra.sweep.dir={tmp_path / 'sweep'}", *grid]


def cache_entries(tmp_path: Path) -> list[Path]:
    root = tmp_path / "cache" / "intermediate"
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []


# Sweeps that vary the intermediate stage's settings (and some that only look as if they did).
SWEEPS = {
    "optimizer": (["task@intermediate=cb", "optim=adamw,bert_adam"], 2),
    "restarts_of_one_seed": (["task@intermediate=cb", "restart=0,1", "seed=3"], 1),
    "intermediate_lr": (["task@intermediate=cb", "intermediate.lr=1e-4,2e-4"], 2),
    "target_lr_only": (["task@intermediate=none,cb", "target.lr=1e-4,2e-4"], 1),
    "control": (["task@intermediate=cb", "control=none,l2sp"], 2),
    "targets_of_one_encoder": (["task@intermediate=cb", "task@target=rte,boolq"], 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_the_plan_counts_what_the_sweep_trains(tmp_path: Path, name: str) -> None:
    grid, expected = SWEEPS[name]
    planned = summary(plan(sweep_arguments(tmp_path, *grid)))
    assert planned.startswith(f"{expected} intermediate trainings"), planned
    sweep(tmp_path, *grid)
    results = [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/result.json")]
    assert results and all(r["status"] == "finished" for r in results)
    trained = [r for r in results if r["encoder_source"].get("trained_now")]
    assert len(trained) == len(cache_entries(tmp_path)) == expected
    after = summary(plan(sweep_arguments(tmp_path, *grid)))
    assert after.startswith(f"{expected} intermediate trainings (0 still needed")
