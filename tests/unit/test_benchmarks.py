"""The benchmark suite's pieces without training: synthetic data follows its length distribution, bad
distributions are named, token accounting. (Runners: tests/integration; the command: tests/e2e.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.runners import Measure
from benchmarks.synthetic import Lengths, write_rte


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
