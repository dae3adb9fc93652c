"""The paper's validation schedule and run length (issue 13, rule 4) observed on step and validation
counts of real tiny cells: the epoch limit overshoots to the next validation, WiC validates first at
step 1000, early stopping after patience non-improving validations."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, run_tiny_cell
from tests.unit.test_fidelity_schedule import jiant_loop

# Training set sizes (SuperGLUE / GLUE train splits).
WIC_TRAIN, COPA_TRAIN, SST2_TRAIN = 5428, 400, 67349


def copa_data(tmp_path: Path, rows: int) -> Path:
    """A COPA folder with `rows` training examples (the fixture's repeated) and the fixture's dev set."""
    folder = tmp_path / "data" / "copa"
    folder.mkdir(parents=True)
    fixture = [json.loads(line) for line in (FIXTURES / "copa" / "train.jsonl").read_text().splitlines()]
    lines = [json.dumps({**fixture[i % len(fixture)], "idx": i}) for i in range(rows)]
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "val.jsonl").write_text((FIXTURES / "copa" / "val.jsonl").read_text())
    return folder.parent


def logged_learning_rates(run: Path) -> dict[int, float]:
    with (run / "target" / "logs" / "metrics.csv").open() as handle:
        return {int(row["step"]): float(row["train/lr"]) for row in csv.DictReader(handle) if row["train/lr"]}


@pytest.mark.slow
def test_a_copa_cell_overshoots_to_the_validation_after_its_epoch_limit(tmp_path: Path) -> None:
    # 80 examples at COPA's batch 32: 3 batches an epoch, 40 epochs = 120 steps; COPA validates every
    # 100 steps (base_roberta.conf), so jiant stops at its 2nd validation, step 200.
    data = copa_data(tmp_path, 80)
    result = run_tiny_cell(
        tmp_path,
        ["task@target=copa", "schedule=jiant", "logger=csv", "trainer.log_every_n_steps=10"],
        data_dir=data,
    )
    assert jiant_loop(3, 40, 100, 1000) == (200, 2)
    assert (result["steps"], result["validations"]) == (200, 2)
    # The learning rate follows BertAdam's warm-up/linear decay over t_total = 200 steps
    # (pytorch_pretrained_bert WarmupLinearSchedule, evaluated at the step count before the update).
    lr, warmup = 5e-6, 0.1
    logged = logged_learning_rates(tmp_path / "run")
    assert len(logged) >= 10
    for step, value in logged.items():
        progress = step / 200
        factor = progress / warmup if progress < warmup else max((progress - 1) / (warmup - 1), 0.0)
        assert value == pytest.approx(lr * factor, rel=1e-6, abs=1e-15)


@pytest.mark.slow
def test_a_wic_cell_trains_to_its_first_validation_at_step_1000(tmp_path: Path) -> None:
    # The 12-example WiC fixture is one batch at WiC's batch 32: 10 epochs are 10 steps, but WiC
    # validates every 1,000 steps (base_roberta.conf), so jiant trains 1,000 steps, 1 validation.
    result = run_tiny_cell(tmp_path, ["task@target=wic", "schedule=jiant"])
    assert result["train_examples"] == 12
    assert jiant_loop(1, 10, 1000, 1000) == (1000, 1)
    assert (result["steps"], result["validations"]) == (1000, 1)


@pytest.mark.slow
def test_early_stopping_ends_a_run_at_the_validation_after_patience_non_improving_ones(
    tmp_path: Path,
) -> None:
    # A learning rate too small to change any prediction: every validation scores the same, so the
    # first is the best, and jiant stops when it is patience + 1 validations old.
    patience, interval = 2, 2
    result = run_tiny_cell(
        tmp_path,
        [
            "task@target=rte",
            "schedule=jiant",
            "target.lr=1e-12",
            f"target.val_interval={interval}",
            f"target.patience={patience}",
            "target.max_epochs=100",
        ],
    )
    steps, validations = jiant_loop(4, 100, interval, 1000, patience=patience, score=0.5)
    assert validations == patience + 2
    assert (result["steps"], result["validations"]) == (steps, validations)
