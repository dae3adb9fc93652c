"""Smoke tests of the benchmark suite on tiny settings, so it cannot rot. No timing is asserted:
figures depend on the machine; only their presence and the accounting of tokens are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import run
from benchmarks.runners import Measure, Setting, run_raw, run_stilts
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


def _token_lengths(task: Path, tokenizer: Any) -> np.ndarray:
    rows = [json.loads(line) for line in (task / "train.jsonl").read_text().splitlines()]
    assert {r["label"] for r in rows} == {"entailment", "not_entailment"}
    encoded = tokenizer([r["premise"] for r in rows], [r["hypothesis"] for r in rows])
    return np.array([len(x) for x in encoded["input_ids"]])


def test_synthetic_data_follows_its_length_distribution(tmp_path) -> None:
    from transformers import AutoTokenizer

    from stilts.config import asset_path

    tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))
    uniform = write_rte(
        tmp_path / "u" / "rte", tokenizer, n_train=200, n_val=4, lengths=Lengths.parse("uniform:8:64")
    )
    lengths = _token_lengths(uniform, tokenizer)
    assert len(lengths) == 200 and lengths.min() < 20 and lengths.max() > 50  # spread, not one length
    assert "label" not in json.loads((uniform / "test.jsonl").read_text().splitlines()[0])

    skewed = Lengths.parse("lognormal:40:0.35:256")
    lengths = _token_lengths(write_rte(tmp_path / "l" / "rte", tokenizer, 400, skewed, n_val=4), tokenizer)
    # Words are whole, so a text may overshoot its budget by a few tokens.
    assert 36 <= np.median(lengths) <= 46 and 0.25 <= np.log(lengths).std() <= 0.45
    assert np.mean(lengths) > np.median(lengths)  # a long right tail, as real NLU data


@pytest.mark.parametrize("spec", ["lognormal:82", "uniform:9:8", "gamma:1:2", "uniform:a:b"])
def test_bad_length_distribution_is_named(spec: str) -> None:
    with pytest.raises(ValueError, match=f"length distribution '{spec}'"):
        Lengths.parse(spec)


def test_measure_counts_real_and_computed_tokens() -> None:
    import torch

    measure = Measure("x")
    measure.count({"attention_mask": torch.tensor([[1, 1, 1], [1, 0, 0]])})
    measure.epoch_s = 2.0
    out = measure.finish()
    # 4 real tokens of 6 computed; 2 examples in 2 s.
    assert out["padding_efficiency"] == pytest.approx(4 / 6)
    assert out["examples_per_s"] == pytest.approx(1.0) and out["tokens_per_s"] == pytest.approx(2.0)


def test_stilts_and_raw_runners_train_one_epoch_on_the_same_batches(setting: Setting) -> None:
    stilts = run_stilts(setting)
    raw = run_raw(setting, grouped=True)
    for result in (stilts, raw):
        assert result["examples"] == 48 and result["steps"] == 6
        assert result["epoch_s"] > 0 and result["peak_rss_mb"] > 0
        assert 0 < result["padding_efficiency"] <= 1
    assert stilts["real_tokens"] == raw["real_tokens"]  # every example once, same tokenization


@pytest.mark.slow  # about 45 s: ten fresh interpreters import torch, Lightning and transformers
def test_quick_run_writes_every_key(tmp_path) -> None:
    out = tmp_path / "results.json"
    # One length distribution (each costs a subprocess per runner, ~10 s each here); sizes given with
    # --quick win over its defaults.
    sizes = ["--train-size", "64", "--memory-sizes", "100", "300", "--lengths", run.LENGTHS[0]]
    results = run.main(["--quick", *sizes, "--out", str(out), "--workdir", str(tmp_path)])
    saved = json.loads(out.read_text())
    assert saved.keys() == results.keys()
    for key in ("stilts_vs_raw_grouped", "padding_efficiency", "prep_second_over_first", "rss_100k_over_10k"):
        assert isinstance(saved[key], float) and math.isfinite(saved[key]), key
    for key in ("stilts_vs_trainer", "stilts_vs_trainer_grouped"):
        assert key in saved  # None where transformers.Trainer cannot run (no `accelerate`)
        assert saved[key] is not None or saved["unavailable"]
    assert saved["gpu"]  # figures, or the reason they were skipped
    assert saved["lengths"] == run.LENGTHS[0] and set(saved["by_lengths"]) == {run.LENGTHS[0]}
    assert saved["setting"]["train_size"] == 64 and saved["memory"]["sizes"] == [100, 300]
    assert "| stilts |" in run.markdown(saved["by_lengths"][saved["lengths"]], saved["unavailable"])
