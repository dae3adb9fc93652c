"""Configuration at composition: intermediate settings compose for every choice, `none` included; cells
that differ in any setting get their own names. (Bad settings met by a cell:
tests/integration/test_bad_config.py; the command line: tests/e2e/test_bad_config.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import compose_cfg, tiny_overrides


def test_intermediate_settings_compose_for_every_choice_including_none(tmp_path: Path) -> None:
    # A sweep `task@intermediate=none,cb intermediate.lr=1e-5` composes each job with the override:
    # `none` accepts the task settings (unused), so no job needs `++` and none of them fails.
    for choice in ("none", "cb"):
        cfg = compose_cfg([*tiny_overrides(tmp_path), f"task@intermediate={choice}", "intermediate.lr=1e-5"])
        assert cfg.intermediate.lr == 1e-5
    none_a = compose_cfg([*tiny_overrides(tmp_path), "intermediate.lr=1e-5"])
    none_b = compose_cfg([*tiny_overrides(tmp_path), "intermediate.lr=3e-6"])
    assert none_a.cell_name == none_b.cell_name  # unused settings do not make another cell


def test_cells_that_differ_in_any_setting_get_their_own_names(tmp_path: Path) -> None:
    base = [*tiny_overrides(tmp_path), "task@intermediate=cb", "task@target=rte"]
    names = {
        compose_cfg([*base, *extra]).cell_name
        for extra in (
            [],
            ["seed=0"],
            ["seed=1"],
            ["restart=1"],
            ["target.batch_size=8"],
            ["model.max_length=64"],
        )
    }
    assert len(names) == 6
    assert compose_cfg([*base, "seed=1"]).cell_name.startswith("cb__rte__r0__s1__lr5e-06_do0.2__")
    assert compose_cfg(base).cell_name == compose_cfg(base).cell_name  # stable: a relaunch finds it
