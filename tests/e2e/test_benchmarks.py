"""Smoke test of the benchmark suite's command (`benchmarks.run --quick`), so it cannot rot: every key
of results.json is written. No timing is asserted."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import run
from benchmarks.runners import Setting
from tests.helpers import bench_setting


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Setting:
    return bench_setting(tmp_path_factory.mktemp("bench"))


@pytest.mark.slow  # about 45 s: ten fresh interpreters import torch, Lightning and transformers
def test_quick_run_writes_every_key(tmp_path) -> None:
    out = tmp_path / "results.json"
    # One length distribution (each costs a subprocess per runner, ~10 s each here); sizes given with
    # --quick win over its defaults.
    sizes = ["--train-size", "64", "--memory-sizes", "100", "300", "--lengths", run.LENGTHS[0]]
    results = run.main(["--quick", *sizes, "--out", str(out), "--workdir", str(tmp_path)])
    saved = json.loads(out.read_text())
    assert saved.keys() == results.keys()
    for key in ("stilts_vs_raw_grouped", "padding_efficiency", "prep_second_over_first", "rss_100k_over_10k"):
        assert isinstance(saved[key], float) and math.isfinite(saved[key]), key
    for key in ("stilts_vs_trainer", "stilts_vs_trainer_grouped"):
        assert key in saved  # None where transformers.Trainer cannot run (no `accelerate`)
        assert saved[key] is not None or saved["unavailable"]
    assert saved["gpu"]  # figures, or the reason they were skipped
    assert saved["lengths"] == run.LENGTHS[0] and set(saved["by_lengths"]) == {run.LENGTHS[0]}
    assert saved["setting"]["train_size"] == 64 and saved["memory"]["sizes"] == [100, 300]
    assert "| stilts |" in run.markdown(saved["by_lengths"][saved["lengths"]], saved["unavailable"])
