"""Rule #11 of issue 13 in a real cell: a stage turns TF32 off whatever ran before (IEEE fp32, as
jiant's torch). docs/fidelity.md, "Precision (#11)"."""

from __future__ import annotations

import torch

from tests.helpers import run_tiny_cell


def test_a_stage_turns_tf32_off_whatever_ran_before(tmp_path) -> None:
    # Something earlier in the process (a user's script, Lightning's hint) asked for TF32 matmuls and
    # convolutions; the stage must train in IEEE fp32 all the same.
    torch.set_float32_matmul_precision("medium")
    torch.backends.cudnn.allow_tf32 = True
    try:
        result = run_tiny_cell(tmp_path, ["+trainer.max_steps=1"])
        assert result["steps"] == 1
        assert torch.get_float32_matmul_precision() == "highest"
        assert torch.backends.cudnn.allow_tf32 is False
    finally:  # torch's defaults for the rest of the session
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = True
