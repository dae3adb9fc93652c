"""Forgetting measures against hand-worked values and direct formulas (no model training)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from stilts.forgetting.measures import layer_of, linear_cka, masked_lm_loss, weight_change
from stilts.forgetting.readout import MLMReadout


def numpy_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al. (2019) via the Gram matrices: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)),
    K = X X^T, L = Y Y^T, centred with H = I - 11^T / n (an independent route to the same value)."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = h @ x @ x.T @ h, h @ y @ y.T @ h
    return float(np.sum(k * l_) / math.sqrt(np.sum(k * k) * np.sum(l_ * l_)))


def test_cka_of_a_representation_with_itself_and_an_orthogonal_transform_is_one() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))  # a random orthogonal matrix
    assert linear_cka(torch.tensor(x), torch.tensor(x)) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(torch.tensor(x), torch.tensor(x @ q * 3.0)) == pytest.approx(1.0, abs=1e-10)


def test_cka_matches_the_gram_matrix_formula_on_random_data() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 10))
    y[:, :6] += x  # partly shared, so the value is neither 0 nor 1
    expected = numpy_linear_cka(x, y)
    assert 0.05 < expected < 0.95
    assert linear_cka(torch.tensor(x), torch.tensor(y)) == pytest.approx(expected, rel=1e-9)


def test_weight_change_is_zero_for_equal_weights_and_hand_computed_for_a_perturbation() -> None:
    reference = {
        "embeddings.word.weight": torch.tensor([[3.0, 4.0]]),  # norm 5
        "encoder.layer.0.dense.weight": torch.tensor([[1.0, 0.0], [0.0, 0.0]]),  # norm 1
        "encoder.layer.0.dense.bias": torch.tensor([0.0, 0.0]),
    }
    assert set(weight_change(reference, reference).values()) == {0.0}
    moved = dict(reference)
    moved["embeddings.word.weight"] = torch.tensor([[3.0, 4.0 + 1.0]])  # ||delta|| = 1
    moved["encoder.layer.0.dense.bias"] = torch.tensor([0.0, 2.0])  # ||delta|| = 2
    change = weight_change(moved, reference)
    assert change["embeddings"] == pytest.approx(1 / 5)
    assert change["layer_1"] == pytest.approx(2 / 1)
    assert change["all"] == pytest.approx(math.sqrt(1 + 4) / math.sqrt(25 + 1))


def test_layer_names_follow_hidden_state_numbering() -> None:
    assert layer_of("embeddings.word_embeddings.weight") == "embeddings"
    assert layer_of("encoder.layer.0.attention.self.query.weight") == "layer_1"
    assert layer_of("encoder.layer.11.output.dense.bias") == "layer_12"
    assert layer_of("pooler.dense.weight") == "other"


def test_masked_lm_loss_is_the_hand_computed_cross_entropy() -> None:
    # Two masked positions over a 3-token vocabulary.
    logits = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    labels = torch.tensor([1, 0])
    total, count = masked_lm_loss(logits, labels)
    first = math.log(3)  # uniform: -log(1/3)
    second = -(2 - math.log(math.exp(2) + 2))  # -log softmax(2 | 2, 0, 0)
    assert count == 2
    assert total == pytest.approx(first + second)


def test_readout_is_dense_gelu_layernorm_then_the_decoder() -> None:
    dense, norm = nn.Linear(2, 2), nn.LayerNorm(2, elementwise_affine=False)
    with torch.no_grad():
        dense.weight.copy_(torch.eye(2))
        dense.bias.zero_()
    decoder = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    readout = MLMReadout(dense, norm, decoder, torch.tensor([0.0, 0.0, 0.5]))
    # hidden (1, -1): GELU -> (0.8413, -0.1587); LayerNorm of two values -> (+1, -1) (up to eps).
    logits = readout(torch.tensor([[1.0, -1.0]]))
    assert logits[0].tolist() == pytest.approx([1.0, -1.0, 0.5], abs=1e-4)
