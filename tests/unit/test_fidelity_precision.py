"""Rule #11 of issue 13: the paper's experiments train in fp32, as jiant did (no amp in jiant/trainer.py,
torch 1.0/1.1 in its setup.py / environment.yml: no TF32 either). bf16 is one override away and a cell
of its own. docs/fidelity.md, "Precision (#11)"."""

from __future__ import annotations

import pytest
import torch

from stilts.identity import training_settings
from tests.helpers import compose_cfg

PAPER_EXPERIMENTS = ["paper_grid", "baselines", "hparam_sweep", "size_curve"]
FP32 = "32-true"  # Lightning's name for full fp32 training, what jiant did
BF16 = "bf16-mixed"


@pytest.mark.parametrize("trainer", ["gpu", "ddp", "auto"])
@pytest.mark.parametrize("experiment", PAPER_EXPERIMENTS)
def test_paper_experiments_train_in_fp32_on_any_trainer(experiment: str, trainer: str, monkeypatch) -> None:
    # As users launch them on GPUs: `stilts-train -m experiment=paper_grid trainer=gpu`. A bf16-capable
    # GPU is faked so that `trainer=auto` resolves as it would there (bf16-mixed without the experiment).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert compose_cfg([f"trainer={trainer}"]).trainer.precision == BF16  # what the experiment overrides
    cfg = compose_cfg([f"experiment={experiment}", f"trainer={trainer}"])
    assert cfg.trainer.precision == FP32


@pytest.mark.parametrize("experiment", PAPER_EXPERIMENTS)
def test_bf16_is_one_override_away(experiment: str) -> None:
    cfg = compose_cfg([f"experiment={experiment}", "trainer=gpu", f"trainer.precision={BF16}"])
    assert cfg.trainer.precision == BF16


def test_the_gpu_trainer_outside_the_paper_experiments_keeps_bf16() -> None:
    # The demo and one-off runs keep the faster default; only the paper's experiments are pinned.
    assert compose_cfg(["trainer=gpu"]).trainer.precision == BF16


def test_precision_is_part_of_the_cell_identity() -> None:
    # A bf16 run gets a run dir (and, through the same trainer settings, an intermediate-encoder
    # cache key: stilts.identity.identity_material) of its own: never taken for the fp32 cell.
    cell = ["experiment=paper_grid", "trainer=cpu", "task@intermediate=mnli", "task@target=rte"]
    fp32 = compose_cfg(cell)
    bf16 = compose_cfg([*cell, f"trainer.precision={BF16}"])
    assert training_settings(fp32.trainer)["precision"] == FP32
    assert training_settings(bf16.trainer)["precision"] == BF16
    assert fp32.cell_name != bf16.cell_name
    assert fp32.cell_name == compose_cfg(cell).cell_name  # the name is stable, only precision moved it
