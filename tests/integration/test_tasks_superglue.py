"""CommonsenseQA transfers, in cells, to a target of each head type."""

from __future__ import annotations

import pytest

from tests.helpers import run_tiny_cell

# ----- bad input ---------------------------------------------------------------------------------


WIC_ROW = {"word": "run", "sentence1": "I run.", "sentence2": "A run.", "start1": 2, "end1": 5, "start2": 2}
WIC_ROW |= {"end2": 5, "label": True}


# ----- transfer: an MC intermediate before each head type (about 18 s: not marked slow) -------------
def test_commonsenseqa_transfers_to_each_head_type(tmp_path) -> None:
    for target in ("copa", "wsc", "multirc", "record"):
        result = run_tiny_cell(
            tmp_path,
            ["task@intermediate=commonsenseqa", f"task@target={target}", "+trainer.max_steps=2"],
            run_name=target,
        )
        assert result["intermediate"] == "commonsenseqa" and result["task"] == target
        assert result["encoder_source"]["kind"] == "intermediate"
        assert result["encoder_source"]["trained_now"] == (target == "copa")  # cached after the first
        names = result["main_metric"]
        assert result["main"] == pytest.approx(sum(result["metrics"][m] for m in names) / len(names))
        rows = (tmp_path / target / "predictions.jsonl").read_text().splitlines()
        assert len(rows) == result["val_examples"]
