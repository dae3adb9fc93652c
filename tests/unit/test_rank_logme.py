"""stilts.rank.logme against values computed once by the authors' reference implementation.

tests/fixtures/rank/logme_reference.json records the inputs, the expected scores, the reference
commit (github.com/thuml/LogME) and the command and script that produced them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from stilts.rank.logme import logme
from tests.helpers import REPO

REFERENCE = json.loads((REPO / "tests" / "fixtures" / "rank" / "logme_reference.json").read_text())


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda case: case["name"])
def test_logme_equals_reference(case: dict) -> None:
    features = np.array(case["features"])
    labels = np.array(case["labels"])
    assert logme(features, labels, regression=case["regression"]) == pytest.approx(case["expected"], abs=1e-6)


def test_informative_features_score_higher_than_noise() -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    noise = rng.standard_normal((200, 4))
    informative = noise.copy()
    informative[:, 0] += 3.0 * labels
    assert logme(informative, labels) > logme(noise, labels)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="N x D"):
        logme(np.zeros(5), np.zeros(5))


def test_hscore_hand_worked() -> None:
    from stilts.rank.hscore import hscore

    # One feature, classes at -1 and +1 with spread 0.5 around them: cov(f) = 1 + 0.25 = 1.25,
    # between-class variance 1, so H = 1 / 1.25 = 0.8.
    features = np.array([[-1.5], [-0.5], [0.5], [1.5]])
    labels = np.array([0, 0, 1, 1])
    assert hscore(features, labels) == pytest.approx(0.8)
