"""A cell killed with SIGKILL mid-training resumes from its last checkpoint and ends as if never killed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, cli, offline_env, tiny_overrides

CELL = ["task@target=rte", "++target.max_epochs=80", "++target.patience=100", "keep_checkpoints=true"]


def launch(tmp_path: Path, out: str) -> subprocess.Popen:
    log = (tmp_path / f"{out}.log").open("a")
    env = offline_env()
    command = cli("train", *tiny_overrides(tmp_path, output_dir=tmp_path / out, logger="csv"), *CELL)
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def result_of(tmp_path: Path, out: str) -> dict:
    (path,) = (tmp_path / out).rglob("result.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_sigkill_then_relaunch_equals_an_uninterrupted_run(tmp_path) -> None:
    reference = launch(tmp_path, "reference")
    assert reference.wait(300) == 0, (tmp_path / "reference.log").read_text()[-2000:]

    victim = launch(tmp_path, "killed")
    deadline = time.monotonic() + 120
    checkpoints = tmp_path / "killed"
    while time.monotonic() < deadline:
        lasts = list(checkpoints.rglob("last.ckpt"))
        if lasts:
            break
        time.sleep(0.01)
    else:
        pytest.fail("no checkpoint was written: " + (tmp_path / "killed.log").read_text()[-2000:])
    time.sleep(1.0)  # let training run past the checkpoint, so the kill lands mid-epoch
    assert victim.poll() is None, "the run finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert not list(checkpoints.rglob("result.json"))

    relaunched = launch(tmp_path, "killed")
    assert relaunched.wait(300) == 0, (tmp_path / "killed.log").read_text()[-2000:]
    resumed, expected = result_of(tmp_path, "killed"), result_of(tmp_path, "reference")
    assert resumed["metrics"] == expected["metrics"]
    assert resumed["steps"] == expected["steps"]
    predictions = [(tmp_path / out).rglob("predictions.jsonl") for out in ("killed", "reference")]
    first, second = (next(found).read_text() for found in predictions)
    assert first == second
