"""Controls planned, not run: the plan counts their extra intermediate trainings; a misspelt control
setting is named. (Cells with controls: tests/integration/test_controls_pipeline.py.)"""

from __future__ import annotations

from tests.helpers import compose_cfg, tiny_overrides


def test_plan_counts_the_controls_extra_intermediate_trainings(tmp_path) -> None:
    from stilts.plan import plan, summary

    # One target of the study (the plan composes every cell): 11 intermediate tasks x 3 restarts x
    # 3 controls (none, mlm_mix, l2sp) intermediate trainings; 12 x 1 x 3 x 3 jobs.
    jobs = plan(["experiment=forgetting", "task@target=rte", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert summary(jobs).splitlines() == [
        "99 intermediate trainings (99 still needed by unfinished cells)",
        "108 downstream runs: 0 finished, 0 failed, 108 to run",
    ]


def test_a_misspelt_control_setting_is_named(tmp_path) -> None:
    import pytest

    from stilts.cell import resolve_cell
    from stilts.errors import ConfigError

    cfg = compose_cfg(
        [*tiny_overrides(tmp_path), "task@intermediate=rte", "control=l2sp", "+control.alpah=1"]
    )
    with pytest.raises(ConfigError, match=r"`control.alpah`.*did you mean `control.alpha`"):
        resolve_cell(cfg)
