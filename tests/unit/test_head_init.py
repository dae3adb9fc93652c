"""`head.init_std`: the output layer initialised as transformers initialises its BERT heads (N(0, std),
zero bias) instead of PyTorch's default; the default stays PyTorch's (the paper's)."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import BertConfig, BertForMultipleChoice, BertForSequenceClassification

from benchmarks.parity_runs import Recipe, stilts_overrides
from stilts.errors import ConfigError
from stilts.models.choice_heads import MultipleChoiceHead
from stilts.models.heads import ClassificationHead

HIDDEN = 384
CONFIG = BertConfig(hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    vocab_size=50, num_labels=3, initializer_range=0.02)  # fmt: skip


def _std(weight: torch.Tensor) -> float:
    return float(weight.detach().std())


def test_init_std_draws_the_output_layer_like_transformers_bert_heads() -> None:
    torch.manual_seed(0)
    ours = ClassificationHead(HIDDEN, ["a", "b", "c"], dropout=0.1, init_std=0.02).out
    theirs = BertForSequenceClassification(CONFIG).classifier  # transformers' own _init_weights
    # 1,152 weights: the sample sd of N(0, 0.02) is within 0.02 +- 0.0015 (over 3 standard errors)
    assert _std(ours.weight) == pytest.approx(0.02, abs=0.0015)
    assert _std(theirs.weight) == pytest.approx(0.02, abs=0.0015)
    assert torch.count_nonzero(ours.bias) == 0 and torch.count_nonzero(theirs.bias) == 0
    choice = MultipleChoiceHead(HIDDEN, ["0", "1"], dropout=0.1, init_std=0.02).score
    reference = BertForMultipleChoice(CONFIG).classifier
    assert choice.weight.shape == reference.weight.shape
    assert _std(choice.weight) == pytest.approx(0.02, abs=0.003)  # 384 weights
    assert torch.count_nonzero(choice.bias) == 0


def test_without_init_std_the_output_layer_keeps_pytorchs_default() -> None:
    torch.manual_seed(0)
    default = ClassificationHead(HIDDEN, ["a", "b", "c"], dropout=0.1).out
    torch.manual_seed(0)
    plain = torch.nn.Linear(HIDDEN, 3)
    torch.testing.assert_close(default.weight, plain.weight)  # the same draws as before the option
    torch.testing.assert_close(default.bias, plain.bias)
    assert _std(default.weight) == pytest.approx(1 / math.sqrt(3 * HIDDEN), abs=0.002)  # U(+-1/sqrt(384))


def test_a_non_positive_init_std_is_refused() -> None:
    with pytest.raises(ConfigError, match="head.init_std"):
        ClassificationHead(HIDDEN, ["a", "b"], dropout=0.1, init_std=0.0)


def test_the_parity_benchmark_passes_the_trainers_init_only_when_asked(tmp_path) -> None:
    plain = stilts_overrides(Recipe(), "rte", 0, tmp_path, tmp_path / "run")
    assert not any("init_std" in o for o in plain)
    asked = stilts_overrides(Recipe(stilts_head_init_std=0.02), "rte", 0, tmp_path, tmp_path / "run")
    assert "++target.head.init_std=0.02" in asked
