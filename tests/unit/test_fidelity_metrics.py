"""Metrics at the edges (issue 13, rule 10): each stilts metric equals an independent jiant-style
reference (sklearn, or the official SQuAD v1.1 / ReCoRD formulas transcribed below) to 1e-6 on random
cases and on the edge cases: undefined MCC, a CB class absent from gold and predictions, an answer
that normalises to empty, ReCoRD ties."""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import datasets
import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, matthews_corrcoef

from stilts.tasks.metrics_classification import MacroF1AllClasses, MatthewsCorrCoef
from stilts.tasks.metrics_spans import SpanQAScore
from stilts.tasks.metrics_superglue import RecordScore

TOL = 1e-6


# ----- official SQuAD v1.1 / ReCoRD evaluation functions, transcribed for the test ----------------
def official_normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def official_f1(prediction: str, ground_truth: str) -> float:
    prediction_tokens = official_normalize(prediction).split()
    ground_truth_tokens = official_normalize(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_em(prediction: str, ground_truth: str) -> float:
    return float(official_normalize(prediction) == official_normalize(ground_truth))


# ----- Matthews correlation ------------------------------------------------------------------------
def mcc_of(preds: list[int], target: list[int]) -> float:
    metric = MatthewsCorrCoef()
    metric.update(torch.tensor(preds), torch.tensor(target))
    return float(metric.compute())


@pytest.mark.parametrize(
    ("preds", "target"),
    [
        ([1, 1, 1, 1], [0, 1, 0, 1]),  # constant predictor: undefined -> 0
        ([0, 0, 0, 0], [0, 1, 1, 1]),  # constant predictor, unbalanced gold (torchmetrics: not 0)
        ([1, 1, 1], [1, 1, 1]),  # one class everywhere, all right: undefined -> 0 (torchmetrics: 1)
        ([1, 1, 1], [0, 0, 0]),  # one class in gold, all wrong: undefined -> 0 (torchmetrics: -1)
        ([0, 1, 0, 1], [0, 1, 0, 1]),  # perfect: 1
        ([1, 0, 1, 0], [0, 1, 0, 1]),  # inverted: -1
    ],
)
def test_mcc_edge_cases_equal_sklearn(preds: list[int], target: list[int]) -> None:
    assert mcc_of(preds, target) == pytest.approx(matthews_corrcoef(target, preds), abs=TOL)


def test_mcc_is_zero_for_a_constant_predictor() -> None:
    assert mcc_of([1] * 10, [0, 1] * 5) == 0.0


def test_mcc_random_cases_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        target = rng.integers(0, 2, n).tolist()
        preds = rng.integers(0, 2, n).tolist()
        metric = MatthewsCorrCoef()
        half = n // 2  # two updates, as over two batches
        metric.update(torch.tensor(preds[:half]), torch.tensor(target[:half]))
        metric.update(torch.tensor(preds[half:]), torch.tensor(target[half:]))
        assert float(metric.compute()) == pytest.approx(matthews_corrcoef(target, preds), abs=TOL)


# ----- CB macro-F1 over all three classes ----------------------------------------------------------
def macro_f1_of(preds: list[int], target: list[int]) -> float:
    metric = MacroF1AllClasses(num_classes=3)
    metric.update(torch.tensor(preds), torch.tensor(target))
    return float(metric.compute())


def test_cb_f1_counts_a_class_absent_from_gold_and_predictions() -> None:
    # class 2 never appears: per-class F1 = (1, 1, 0) -> 2/3 (torchmetrics' macro would say 1).
    preds, target = [0, 1, 0, 1], [0, 1, 0, 1]
    assert macro_f1_of(preds, target) == pytest.approx(2 / 3, abs=TOL)
    reference = f1_score(target, preds, labels=[0, 1, 2], average="macro", zero_division=0)
    assert macro_f1_of(preds, target) == pytest.approx(reference, abs=TOL)


def test_cb_f1_random_cases_equal_sklearn_over_all_labels() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        # Often leave a class out of the draw, so absent classes are common.
        classes = rng.choice(3, size=int(rng.integers(1, 4)), replace=False)
        target = rng.choice(classes, n).tolist()
        preds = rng.integers(0, 3, n).tolist()
        reference = f1_score(target, preds, labels=[0, 1, 2], average="macro", zero_division=0)
        assert macro_f1_of(preds, target) == pytest.approx(reference, abs=TOL)


def test_cb_f1_rejects_another_average() -> None:
    with pytest.raises(ValueError, match="average"):
        MacroF1AllClasses(num_classes=3, average="micro")


# ----- SQuAD-style span F1 / EM (QAMR, QA-SRL) -----------------------------------------------------
WORDS = ["The", "cat", "a", "an", "sat", "on", "the", "mat", ".", ",", "Mat", "dog!", "(the)"]


def span_references(rng: random.Random, n: int) -> tuple[datasets.Dataset, list[list[str]]]:
    """n contexts of random words; each word is one 'sub-token' with its character offsets."""
    contexts, offsets, answers, tokens = [], [], [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 8))]
        text, spans = "", []
        for word in words:
            if text:
                text += " "
            spans.append([len(text), len(text) + len(word)])
            text += word
        i = rng.randrange(len(words))
        j = rng.randrange(i, len(words))
        contexts.append(text)
        offsets.append(spans)
        answers.append(" ".join(words[i : j + 1]))
        tokens.append(words)
    data = datasets.Dataset.from_dict(
        {"idx": list(range(n)), "context": contexts, "offsets": offsets, "answer": answers}
    )
    return data, tokens


def test_span_f1_em_equal_the_official_script_on_random_spans() -> None:
    rng = random.Random(2)
    data, tokens = span_references(rng, 60)
    f1, em = SpanQAScore("f1"), SpanQAScore("em")
    for metric in (f1, em):
        metric.bind_references(data)
    starts, ends, expected_f1, expected_em = [], [], [], []
    for i, words in enumerate(tokens):
        # Exclusive ends short of the last word: jiant's decoding (jiant/models.py:993-996) reads
        # these words unchanged (test_fidelity_heads checks the decoding itself).
        s = rng.randrange(len(words) - 1)
        e = rng.randrange(s + 1, len(words))
        starts.append(s)
        ends.append(e)
        predicted = " ".join(words[s:e])
        expected_f1.append(official_f1(predicted, data[i]["answer"]))
        expected_em.append(official_em(predicted, data[i]["answer"]))
    for metric in (f1, em):
        metric.update(torch.tensor(starts), torch.tensor(ends), torch.arange(len(tokens)))
    assert float(f1.compute()) == pytest.approx(sum(expected_f1) / len(tokens), abs=TOL)
    assert float(em.compute()) == pytest.approx(sum(expected_em) / len(tokens), abs=TOL)


def test_span_f1_is_zero_when_the_gold_normalises_to_empty() -> None:
    # gold "the ." normalises to "": SQuAD v1.1 F1 is 0 even for a prediction that is empty too
    # (torchmetrics' SQuAD, following the v2 no-answer rule, would give 1). EM compares the
    # normalised strings, so "a" vs "the ." is an exact match under the official script.
    data = datasets.Dataset.from_dict(
        {"idx": [0], "context": ["a the ."], "offsets": [[[0, 1], [2, 5], [6, 7]]], "answer": ["the ."]}
    )
    f1, em = SpanQAScore("f1"), SpanQAScore("em")
    for metric in (f1, em):
        metric.bind_references(data)
        metric.update(torch.tensor([0]), torch.tensor([0]), torch.tensor([0]))
    assert float(f1.compute()) == 0.0 == official_f1("a", "the .")
    assert float(em.compute()) == 1.0 == official_em("a", "the .")


# ----- ReCoRD: max over gold answers, jiant's tie rule ---------------------------------------------
def test_record_equals_the_official_script_with_jiant_ties() -> None:
    rng = random.Random(3)
    names = ["Ann", "Bob", "the Bob", "Carl Smith", "Smith", "Dana", "(Ann)", "."]
    idx, number, texts, golds = [], [], [], []
    chosen: dict[int, str] = {}
    all_scores = []
    for query in range(40):
        candidates = rng.sample(names, rng.randint(1, 5))
        answers = rng.sample(names, rng.randint(1, 2))
        scores = [float(rng.choice([0, 1, 2])) for _ in candidates]  # coarse: ties are common
        # jiant v1 (jiant/tasks/qa.py:384-389): sort by candidate text, first of the maxima wins.
        ordered = sorted(zip(candidates, scores, strict=True), key=lambda pair: pair[0])
        chosen[query] = max(ordered, key=lambda pair: pair[1])[0]  # max() keeps the first maximum
        for k, text in enumerate(candidates):
            idx.append(query)
            number.append(k)
            texts.append(text)
            golds.append(answers)
        all_scores += scores
    data = datasets.Dataset.from_dict(
        {"idx": idx, "candidate": number, "candidate_text": texts, "answers": golds}
    )
    f1, em = RecordScore("f1"), RecordScore("em")
    for metric in (f1, em):
        metric.bind_references(data)
        metric.update(torch.tensor(all_scores), torch.tensor(idx), torch.tensor(number))
    answers_of = dict(zip(idx, golds, strict=True))
    expected_f1 = [max(official_f1(chosen[q], g) for g in answers_of[q]) for q in chosen]
    expected_em = [max(official_em(chosen[q], g) for g in answers_of[q]) for q in chosen]
    assert f1.best_candidates() == chosen
    assert float(f1.compute()) == pytest.approx(sum(expected_f1) / len(chosen), abs=TOL)
    assert float(em.compute()) == pytest.approx(sum(expected_em) / len(chosen), abs=TOL)


def test_record_f1_is_zero_against_a_gold_that_normalises_to_empty() -> None:
    data = datasets.Dataset.from_dict(
        {"idx": [0], "candidate": [0], "candidate_text": ["The"], "answers": [["."]]}
    )
    f1 = RecordScore("f1")
    f1.bind_references(data)
    f1.update(torch.tensor([1.0]), torch.tensor([0]), torch.tensor([0]))
    assert float(f1.compute()) == 0.0
