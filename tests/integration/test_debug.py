"""The `debug` config group: quick checks of a cell's whole path, recorded under their own names."""

from __future__ import annotations

from tests.helpers import run_tiny_cell


def test_debug_fast_runs_one_batch_per_stage(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@intermediate=cb", "task@target=rte", "debug=fast"])
    assert result["status"] == "finished" and result["steps"] == 1
    assert result["encoder_source"]["kind"] == "intermediate"


def test_debug_limit_caps_the_steps(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@target=rte", "debug=limit", "++target.max_epochs=40"])
    assert result["steps"] == 20
