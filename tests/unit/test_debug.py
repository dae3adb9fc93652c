"""The `debug` config group: quick checks of a cell's whole path, recorded under their own names."""

from __future__ import annotations

from tests.helpers import compose_cfg, tiny_overrides


def test_debug_runs_are_other_cells(tmp_path) -> None:
    base = [*tiny_overrides(tmp_path), "task@target=rte"]
    names = {compose_cfg([*base, *debug]).cell_name for debug in ([], ["debug=fast"], ["debug=limit"])}
    assert len(names) == 3  # never mistaken for (or skipped as) the full run
