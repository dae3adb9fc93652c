"""Smoke test of the benchmark runners: stilts' Trainer path and the raw loop train one epoch on the
same batches. No timing is asserted: figures depend on the machine."""

from __future__ import annotations

import pytest

from benchmarks.runners import Setting, run_raw, run_stilts
from tests.helpers import bench_setting


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Setting:
    return bench_setting(tmp_path_factory.mktemp("bench"))


def test_stilts_and_raw_runners_train_one_epoch_on_the_same_batches(setting: Setting) -> None:
    stilts = run_stilts(setting)
    raw = run_raw(setting, grouped=True)
    for result in (stilts, raw):
        assert result["examples"] == 48 and result["steps"] == 6
        assert result["epoch_s"] > 0 and result["peak_rss_mb"] > 0
        assert 0 < result["padding_efficiency"] <= 1
    assert stilts["real_tokens"] == raw["real_tokens"]  # every example once, same tokenization
