"""ReCoRD against jiant v1 (issue 24, items 2 and 3).

- Head (followed): jiant scores each (passage, query with a candidate) with `Classifier(d, 2)`
  (jiant/models.py:798) and softmax cross-entropy (models.py:1298), and ranks a query's candidates by
  the softmax probability of class 1 (jiant/tasks/qa.py:389).
- Training instances (kept, measured): jiant trains one instance per (query, entity mention)
  (qa.py:355-358) and counts an epoch as the passages' mentions (qa.py:360-366); stilts trains one row
  per (query, distinct candidate) and takes the epoch from its loader. Measured on the real excerpt.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import datasets
import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from stilts.models.encoder import load_tokenizer
from stilts.schedule import stage_schedule
from stilts.tasks.spec import TaskSpec
from stilts.tasks.superglue_rc import RecordReader
from stilts.tasks.values import LabelMap
from tests.helpers import REALDATA, compose_cfg, needs_realdata


def record_spec() -> TaskSpec:
    return TaskSpec.from_config(compose_cfg(["task@target=record", "model=tiny"]).target, key="target")


def test_record_head_is_a_two_class_linear_layer_with_softmax_cross_entropy() -> None:
    torch.manual_seed(0)
    head = instantiate(record_spec().cfg.head, hidden_size=8, labels=["false", "true"], dropout=0.0)
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 2)]
    hidden = torch.randn(5, 3, 8)
    batch = {"label": torch.tensor([1, 0, 0, -1, 1]), "idx": torch.zeros(5, dtype=torch.long)}
    batch["candidate"] = torch.arange(5)
    logits = head(hidden, batch)
    # Independently: the linear layer on the first token, then -log softmax of the gold class.
    expected = hidden[:, 0] @ linears[0].weight.T + linears[0].bias
    assert torch.allclose(logits, expected, atol=1e-6)
    known = batch["label"] >= 0
    log_probs = expected[known] - torch.logsumexp(expected[known], dim=-1, keepdim=True)
    nll = -log_probs.gather(1, batch["label"][known][:, None]).mean()
    assert head.loss(logits, batch).item() == pytest.approx(nll.item(), abs=1e-6)


def test_record_scores_are_jiants_class_one_probabilities_saturated_ties_included() -> None:
    head = instantiate(record_spec().cfg.head, hidden_size=2, labels=["false", "true"], dropout=0.0)
    batch = {
        "label": torch.tensor([0, 1, 0]),
        "idx": torch.zeros(3, dtype=torch.long),
        "candidate": torch.arange(3),
    }
    # Candidates 1 and 2: differences 30 and 40, both probability 1.0 in float32, a tie in jiant's
    # argmax (then the text sorting first wins, RecordScore); candidate 0 below.
    logits = torch.tensor([[0.0, 1.0], [0.0, 30.0], [-10.0, 30.0]])
    scores = head.predict(logits, batch)["scores"]
    expected = [math.exp(b) / (math.exp(a) + math.exp(b)) for a, b in logits.tolist()]
    assert scores.tolist() == pytest.approx(expected)
    assert scores[1].item() == scores[2].item() == 1.0


def jiant_counts(path: Path) -> tuple[int, int]:
    """(training instances, n_train_examples) by jiant's rules, from the jsonl alone: one instance per
    (query, entity mention) (qa.py:355-358); n_train_examples = the passages' mentions (qa.py:365)."""
    instances = examples = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        mentions = len(item["passage"]["entities"])
        instances += mentions * len(item["qas"])
        examples += mentions
    return instances, examples


def distinct_candidate_rows(path: Path) -> int:
    """(query, distinct entity text) pairs, from the jsonl alone (`end` inclusive)."""
    rows = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        text = item["passage"]["text"]
        names = {text[e["start"] : e["end"] + 1] for e in item["passage"]["entities"]}
        rows += len(names) * len(item["qas"])
    return rows


@needs_realdata
def test_record_trains_one_row_per_distinct_candidate_and_its_epoch_is_the_loaders(tmp_path) -> None:
    path = REALDATA / "record" / "train.jsonl"
    spec = record_spec()
    records = list(RecordReader({"train": path.name}).records([path], LabelMap(spec.labels, None)))
    raw = datasets.Dataset.from_list(records)
    featurizer = instantiate(spec.cfg.featurizer)
    rows = featurizer(raw, load_tokenizer(compose_cfg(["model=tiny"]).model), 256, tmp_path)
    assert len(rows) == distinct_candidate_rows(path)

    instances, examples = jiant_counts(path)
    # docs/fidelity.md's measured size: 32 passages of one query each, so jiant's epoch count equals
    # its instance count here; both are 1.47 x stilts' rows (585 and 585 against 397).
    assert (instances, examples, len(rows)) == (585, 585, 397)
    # Batches an epoch at ReCoRD's paper batch size 4, and the schedule each gives: 10 epochs fit in
    # the first 5,000-step validation either way, so t_total (hence the 10% warm-up) is the same.
    stilts_batches, jiant_batches = (
        math.ceil(len(rows) / spec.batch_size),
        math.ceil(examples / spec.batch_size),
    )
    assert (stilts_batches, jiant_batches) == (100, 147)
    totals = {stage_schedule("jiant", spec, n).total_steps for n in (stilts_batches, jiant_batches)}
    assert totals == {5000}
