"""The `debug` config group: quick checks of a cell's whole path, recorded under their own names."""

from __future__ import annotations

from tests.helpers import compose_cfg, run_tiny_cell, tiny_overrides


def test_debug_fast_runs_one_batch_per_stage(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@intermediate=cb", "task@target=rte", "debug=fast"])
    assert result["status"] == "finished" and result["steps"] == 1
    assert result["encoder_source"]["kind"] == "intermediate"


def test_debug_limit_caps_the_steps(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@target=rte", "debug=limit", "++target.max_epochs=40"])
    assert result["steps"] == 20


def test_debug_runs_are_other_cells(tmp_path) -> None:
    base = [*tiny_overrides(tmp_path), "task@target=rte"]
    names = {compose_cfg([*base, *debug]).cell_name for debug in ([], ["debug=fast"], ["debug=limit"])}
    assert len(names) == 3  # never mistaken for (or skipped as) the full run
