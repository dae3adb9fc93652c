"""`callbacks=last_state` in a tiny cell: it trains every epoch and scores the final model. (The pooler
head and the per-step hooks: tests/unit/test_head_pooler.py.)"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from tests.helpers import run_tiny_cell


def test_last_state_trains_every_epoch_and_scores_the_final_model(tmp_path: Path) -> None:
    result = run_tiny_cell(
        tmp_path, ["task@target=rte", "target.max_epochs=3", "callbacks=last_state", "logger=csv"]
    )
    assert result["epochs"] == 3 and result["validations"] == 3  # no early stop: every epoch ran
    with (tmp_path / "run" / "target" / "logs" / "metrics.csv").open() as f:
        mains = [float(r["val/main"]) for r in csv.DictReader(f) if r.get("val/main")]
    # The fixture dev set is whole in every validation: the last one scored the state `final` scores.
    assert math.isclose(result["main"], mains[2]) and math.isclose(result["main"], mains[-1])
