"""CCG tagging, QAMR and QA-SRL span QA as intermediate tasks in cells before edge probing."""

from __future__ import annotations

import pytest

from tests.helpers import run_tiny_cell


# ----- cells with these tasks as the intermediate ------------------------------------------------
@pytest.mark.parametrize(  # a few seconds each on CPU: not marked slow
    "intermediate, target", [("qamr", "ep_rel"), ("ccg", "ep_spr1"), ("qasrl", "ep_ud")]
)
def test_intermediate_span_tasks_then_edge_probing(tmp_path, intermediate: str, target: str) -> None:
    result = run_tiny_cell(
        tmp_path, [f"task@intermediate={intermediate}", f"task@target={target}", "+trainer.max_steps=2"]
    )
    assert result["intermediate"] == intermediate and result["task"] == target and result["role"] == "probing"
    assert result["encoder_source"]["kind"] == "intermediate" and result["steps"] == 2
    assert 0.0 <= result["main"] <= 1.0
