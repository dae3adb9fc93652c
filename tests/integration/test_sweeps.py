"""`stilts-plan` counts the whole paper grid (slow: it composes each of the 1,260 cells). (Other plan
tests: tests/unit/test_sweeps.py.)"""

from __future__ import annotations

import pytest

from stilts.plan import plan, summary


@pytest.mark.slow  # the plan composes each of the 1,260 cells to key its intermediate training
def test_plan_counts_the_paper_grid() -> None:
    text = summary(plan(["experiment=paper_grid"]))
    assert text.startswith("33 intermediate trainings")
    assert "1260 downstream runs" in text


