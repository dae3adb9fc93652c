"""The `debug` config group composed: its runs are cells of their own names, never mistaken for the full
run. (Cells: tests/integration/test_debug.py.)"""

from __future__ import annotations

from tests.helpers import compose_cfg, tiny_overrides


def test_debug_runs_are_other_cells(tmp_path) -> None:
    base = [*tiny_overrides(tmp_path), "task@target=rte"]
    names = {compose_cfg([*base, *debug]).cell_name for debug in ([], ["debug=fast"], ["debug=limit"])}
    assert len(names) == 3  # never mistaken for (or skipped as) the full run
