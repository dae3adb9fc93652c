"""Validation metrics through the collection the module builds (issue 24, the scoring bug).

torchmetrics' `MetricCollection` merges metrics whose states are equal after the first update
(`compute_groups=True`); `SpanQAScore(f1)` and `SpanQAScore(em)` keep already-scored totals under the
same state names, so a first batch with F1 = EM made QAMR / QA-SRL report EM as F1 for the rest of a
validation. These tests feed several batches, the first of which makes the scores coincide, through
`TransferModule.val_metrics` as `stilts.stage` builds it, and check the result against the SQuAD v1.1
official rules written out here and against each metric computed alone.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from benchmarks.runners import build_module
from stilts.cell import resolve_cell
from stilts.models.encoder import load_tokenizer
from stilts.models.module import TransferModule
from stilts.stage import transfer_module
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.metrics_spans import SpanQAScore
from stilts.tasks.spec import TaskSpec, known_tasks
from tests.helpers import FIXTURES, compose_cfg

pytestmark = pytest.mark.usefixtures("one_thread")

Batch = dict[str, torch.Tensor]


# ----- SQuAD v1.1, from the official evaluate-v1.1.py's definitions (not stilts code) ---------------
def squad_normalize(text: str) -> str:
    """lower -> remove punctuation -> remove articles -> fix whitespace (the script applies them in
    the reverse nesting: white_space_fix(remove_articles(remove_punc(lower(s)))))."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(prediction: str, ground_truth: str) -> float:
    pred, gold = squad_normalize(prediction).split(), squad_normalize(ground_truth).split()
    common = Counter(pred) & Counter(gold)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(pred), num_same / len(gold)
    return (2 * precision * recall) / (precision + recall)


def squad_em(prediction: str, ground_truth: str) -> float:
    return float(squad_normalize(prediction) == squad_normalize(ground_truth))


# ----- jiant's decoding of a predicted (start, end), written out independently ----------------------
def jiant_answer(context: str, offsets: list[list[int]], start: int, end: int) -> str:
    """jiant/models.py:986-1013: positions relative to the passage's first sub-token, end forced to
    >= start + 1, both clipped to the last passage sub-token, each mapped to its whitespace word,
    answer = words[start_word:end_word]. A sub-token belongs to the word of its first non-space
    character (the tiny tokenizer's pieces carry no space, so that is its first character)."""
    words = [m.start() for m in re.finditer(r"\S+", context)]
    inside = [k for k, (a, b) in enumerate(offsets) if a >= 0 and b > a]
    word_of = [max(w for w, s in enumerate(words) if s <= offsets[k][0]) for k in inside]
    last = len(inside) - 1
    s = min(start - inside[0], last)
    e = min(max(end - inside[0], s + 1), last)
    return " ".join(context.split()[word_of[s] : word_of[e]])


# ----- the stage's metrics and module ----------------------------------------------------------------
@functools.cache
def task_cfg(task: str) -> DictConfig:
    return compose_cfg([f"task@target={task}", "model=tiny"])


def stage_metrics(spec: TaskSpec, val: object) -> dict[str, object]:
    """As stilts.stage.train_stage: one instance per metric node, references bound to the dev set."""
    metrics = {name: instantiate(node) for name, node in spec.cfg.metrics.items()}
    for metric in metrics.values():
        if hasattr(metric, "bind_references"):
            metric.bind_references(val)
    return metrics


def datamodule(tmp_path: Path, task: str, batch_size: int) -> TaskDataModule:
    """The task's fixture data, in batches of `batch_size` (several dev batches)."""
    cfg = task_cfg(task)
    spec = dataclasses.replace(TaskSpec.from_config(cfg.target, key="target"), batch_size=batch_size)
    dm = TaskDataModule(spec, load_tokenizer(cfg.model), FIXTURES, tmp_path / "cache", source="local")
    dm.setup("fit")
    return dm


# ----- QAMR / QA-SRL against SQuAD v1.1 ------------------------------------------------------------
@pytest.mark.parametrize("task", ["qamr", "qasrl"])
def test_span_qa_f1_and_em_through_the_modules_collection_equal_squad_v11(tmp_path, task: str) -> None:
    dm = datamodule(tmp_path, task, batch_size=2)
    val = dm.featurized("val")
    spec = dm.spec
    optim = resolve_cell(task_cfg(task)).downstream.optim
    module = transfer_module(optim, spec, nn.Identity(), nn.Identity(), stage_metrics(spec, val))
    rows = {int(r["idx"]): r for r in val}
    ids = sorted(rows)
    rng = random.Random(24)

    def scored(i: int, s: int, e: int) -> tuple[float, float]:
        answer = jiant_answer(rows[i]["context"], rows[i]["offsets"], s, e)
        return squad_f1(answer, rows[i]["answer"]), squad_em(answer, rows[i]["answer"])

    def positions(i: int) -> list[tuple[int, int]]:
        inside = [k for k, (a, b) in enumerate(rows[i]["offsets"]) if a >= 0 and b > a]
        return [(s, e) for s in inside for e in inside]

    # First batch: one exact answer and one wrong one, so F1 = EM (= 0.5) after it, the situation in
    # which torchmetrics merged the two metrics. Later batches: random spans, partial answers among them.
    exact = next((s, e) for s, e in positions(ids[0]) if scored(ids[0], s, e)[1] == 1.0)
    wrong = next((s, e) for s, e in positions(ids[1]) if scored(ids[1], s, e) == (0.0, 0.0))
    batches = [[(ids[0], *exact), (ids[1], *wrong)]]
    rest = [(i, *rng.choice(positions(i))) for i in ids[2:] * 3]
    batches += [rest[k : k + 3] for k in range(0, len(rest), 3)]

    f1s, ems = [], []
    for batch in batches:
        for i, s, e in batch:
            f1, em = scored(i, s, e)
            f1s.append(f1)
            ems.append(em)
        idx, start, end = (torch.tensor(column) for column in zip(*batch, strict=True))
        module.val_metrics.update(start=start, end=end, idx=idx)  # as TransferModule.validation_step
    assert f1s[:2] == ems[:2]  # the first batch makes the scores coincide
    assert any(0 < f < 1 for f in f1s)  # partial answers later: F1 must move away from EM
    got = {k: float(v) for k, v in module.val_metrics.compute().items()}
    assert got["val/f1"] == pytest.approx(sum(f1s) / len(f1s), abs=1e-6)
    assert got["val/em"] == pytest.approx(sum(ems) / len(ems), abs=1e-6)
    assert got["val/f1"] != pytest.approx(got["val/em"])


def test_the_issues_two_batch_example_keeps_f1_apart_from_em() -> None:
    """The issue's reproduction through the module's collection: a first batch with one exact match
    (F1 = EM = 1), then a partial one; torchmetrics' merged groups reported F1 = EM = 0.5."""
    metrics = {"em": SpanQAScore(score="em"), "f1": SpanQAScore(score="f1")}
    # Two three-word passages, one sub-token per word; start 0, end 2 -> words 0-1 by jiant's rule.
    for metric in metrics.values():
        metric.references = {0: ("x y z", 0, [0, 1, 2], "x y"), 1: ("u v w", 0, [0, 1, 2], "u")}
    module = TransferModule(nn.Identity(), nn.Identity(), metrics, ["f1", "em"], 1e-5, None, None, [])
    module.val_metrics.update(start=torch.tensor([0]), end=torch.tensor([2]), idx=torch.tensor([0]))
    module.val_metrics.update(start=torch.tensor([0]), end=torch.tensor([2]), idx=torch.tensor([1]))
    got = {k: float(v) for k, v in module.val_metrics.compute().items()}
    # Independent: "x y" vs "x y" (EM 1, F1 1), "u v" vs "u" (EM 0, F1 2/3).
    assert got == pytest.approx({"val/em": 0.5, "val/f1": (1 + squad_f1("u v", "u")) / 2})


# ----- every task: the collection equals each metric alone ------------------------------------------
def coincide(outputs: Batch) -> Batch:
    """A first batch on which a task's scores coincide: every classification decision right (accuracy,
    F1, MCC ... all 1), every ReCoRD query's gold candidate on top, every QA answer empty (F1 = EM = 0)."""
    out = dict(outputs)
    if "start" in out:
        out["start"] = out["end"] = torch.full_like(out["start"], 10**6)  # clipped: start = end word
    if "preds" in out and "target" in out and out["preds"].shape == out["target"].shape:
        known = out["target"] >= 0
        out["preds"] = torch.where(known, out["target"], out["preds"])
        if "value" in out:
            out["value"] = known.float()
    if "scores" in out:
        out["scores"] = (out["target"] > 0).float()
    return out


def validate_batches(
    module: TransferModule, dm: TaskDataModule, first: Callable[[Batch], Batch]
) -> list[Batch]:
    """The module's validation steps over the dev set twice (several batches even for a one-row dev
    set), the head's first output replaced by `first`; returns the outputs the metrics saw."""
    seen: list[Batch] = []
    predict = module.head.predict

    def recording(logits: torch.Tensor, batch: Batch) -> Batch:
        outputs = predict(logits, batch)
        outputs = first(outputs) if not seen else outputs
        seen.append(outputs)
        return outputs

    module.head.predict = recording
    module.eval()
    with torch.no_grad():
        for i, batch in enumerate([*dm.val_dataloader(), *dm.val_dataloader()]):
            module.validation_step(batch, i)
    return seen


@pytest.mark.parametrize("task", known_tasks())
def test_every_tasks_metrics_through_the_modules_collection_equal_each_metric_alone(tmp_path, task) -> None:
    L.seed_everything(0)
    dm = datamodule(tmp_path, task, batch_size=1)  # dev batches of 2 (the loader doubles it)
    val = dm.featurized("val")
    module = build_module(task_cfg(task), dm.spec, seed=0)  # the pipeline's encoder, head and metrics
    if hasattr(module.head, "bind_encoder"):  # as stilts.stage does (the MLM decoder)
        module.head.bind_encoder(module.encoder)
    for metric in module.val_metrics.values():
        if hasattr(metric, "bind_references"):
            metric.bind_references(val)
    seen = validate_batches(module, dm, coincide)
    got = {k: float(v) for k, v in module.val_metrics.compute().items()}
    alone = stage_metrics(dm.spec, val)
    for name, metric in alone.items():
        for outputs in seen:
            metric.update(
                **{k: outputs[k] for k in inspect.signature(metric.update).parameters if k in outputs}
            )
        assert got[f"val/{name}"] == pytest.approx(float(metric.compute()), abs=1e-6), f"{task} {name}"
