"""Encoders beyond RoBERTa, trained: each representative task (one per family and featurizer x head)
takes two steps on tiny DeBERTa-v3 and tiny ModernBERT, and a cell of each featurizer x head runs end
to end through the Trainer. (Tokenizers, padding, shipped configs: tests/unit/test_architectures.py.)"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import lightning as L
import pytest
import torch

from benchmarks.runners import build_module
from stilts.cell import resolve_cell
from stilts.pipeline import run_cell
from tests.helpers import REPRESENTATIVE_TASKS, compose_cfg, fixture_datamodule, full_config, tiny_overrides

NEW_MODELS = ("tiny_deberta", "tiny_modernbert")


pytestmark = pytest.mark.usefixtures("one_thread")


def overrides(tmp_path: Path, model: str) -> list[str]:
    return [*(o for o in tiny_overrides(tmp_path) if not o.startswith("model=")), f"model={model}"]


def two_steps_then_validate(tmp_path: Path, task: str, model: str) -> dict[str, float]:
    """The stage's module (encoder, head, metrics) on the task's fixture: two optimizer steps, then the
    metrics over the first dev batch. No Lightning Trainer, so the tasks x models stay cheap; the
    end-to-end cells below run the Trainer for every featurizer/head combination."""
    L.seed_everything(0)
    dm = fixture_datamodule(tmp_path, task, model, batch_size=4)  # small batches: the steps matter
    spec = dm.spec
    dm.setup("fit")
    module = build_module(full_config(model), spec, seed=0)  # the pipeline's encoder, head and metrics
    encoder = module.encoder
    if hasattr(module.head, "bind_encoder"):  # as stilts.stage does
        module.head.bind_encoder(encoder)
    for metric in module.val_metrics.values():
        if hasattr(metric, "bind_references"):
            metric.bind_references(dm.featurized("val"))
    # No weight decay: an embedding row then moves only if a gradient reached it through the encoder.
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.0)
    embeddings = encoder.get_input_embeddings().weight.detach().clone()
    for batch in itertools.islice(itertools.cycle(list(dm.train_dataloader())), 2):
        loss = module.head.loss(module(batch), batch)
        assert torch.isfinite(loss), f"{task} on {model}: loss {loss}"
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert not torch.equal(embeddings, encoder.get_input_embeddings().weight)  # the encoder learned
    module.eval()
    with torch.no_grad():
        module.validation_step(next(iter(dm.val_dataloader())), 0)
    return {k: float(v) for k, v in module.val_metrics.compute().items()}


@pytest.mark.parametrize("model", NEW_MODELS)
@pytest.mark.parametrize("task", REPRESENTATIVE_TASKS)
def test_each_representative_task_head_trains_two_steps(tmp_path, task: str, model: str) -> None:
    scores = two_steps_then_validate(tmp_path, task, model)
    assert scores and all(math.isfinite(v) for v in scores.values())


# One task per distinct featurizer x head (and pair / single input, one / two spans).
END_TO_END = ("rte", "sst2", "ccg", "copa", "ep_pos", "ep_srl", "mlm", "multirc", "qamr", "record", "wsc")


@pytest.mark.parametrize("model", NEW_MODELS)
@pytest.mark.parametrize("task", END_TO_END)
def test_cell_runs_end_to_end(tmp_path, task: str, model: str) -> None:
    cfg = compose_cfg([*overrides(tmp_path, model), f"task@target={task}", "+trainer.max_steps=2"])
    result = run_cell(resolve_cell(cfg), tmp_path / "run")
    assert result["task"] == task and result["steps"] == 2
    assert result["val_examples"] > 0 and math.isfinite(result["main"])
