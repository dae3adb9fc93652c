"""Smoke test of the benchmark runners: stilts' Trainer path and the raw loop train one epoch on the
same batches. No timing is asserted: figures depend on the machine."""

from __future__ import annotations

import pytest

from benchmarks.runners import Setting, run_raw, run_stilts
from benchmarks.synthetic import Lengths, write_rte


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Setting:
    from transformers import AutoTokenizer

    from stilts.config import asset_path

    root = tmp_path_factory.mktemp("bench")
    tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))
    write_rte(root / "data" / "rte", tokenizer, 48, Lengths.parse("uniform:8:40"), n_val=8)
    return Setting(
        data_dir=str(root / "data"), cache_dir=str(root / "cache"), work_dir=str(root / "work"), batch_size=8
    )


def test_stilts_and_raw_runners_train_one_epoch_on_the_same_batches(setting: Setting) -> None:
    stilts = run_stilts(setting)
    raw = run_raw(setting, grouped=True)
    for result in (stilts, raw):
        assert result["examples"] == 48 and result["steps"] == 6
        assert result["epoch_s"] > 0 and result["peak_rss_mb"] > 0
        assert 0 < result["padding_efficiency"] <= 1
    assert stilts["real_tokens"] == raw["real_tokens"]  # every example once, same tokenization
