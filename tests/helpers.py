"""Shared test helpers: compose configs offline, run cells on the tiny model, locate fixtures."""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from omegaconf import DictConfig

from stilts.config import compose_config

if TYPE_CHECKING:
    from benchmarks.runners import Setting
    from stilts.tasks.datamodule import TaskDataModule

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"  # one folder per task, in the task's native format
REALDATA = REPO.parent / "shared" / "realdata"  # third-party excerpts; absent in users' clones

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")


def offline_env() -> dict[str, str]:
    """This process's environment with the Hub switched off, for stilts subprocesses."""
    return {**os.environ, **OFFLINE}


def cli(module: str, *args: str) -> list[str]:
    """The command line of a stilts console script (`python -m stilts.<module> ARGS`)."""
    return [sys.executable, "-m", f"stilts.{module}", *args]


compose_cfg = compose_config  # compose a config as the command line would, without running the app

# One task per task family (a yaml's `family`, set by conf/task_family/; ccg, mlm and scitail have
# none) and per distinct featurizer x head within a family: the integration tier trains these instead of
# every task yaml. tests/unit/test_task_yamls.py checks that they cover every family and combination.
REPRESENTATIVE_TASKS = (
    "aj_cola",  # acceptability
    "cb", "copa", "multirc", "record", "wic", "wsc",  # superglue: its six featurizer x head pairs
    "sst2", "mnli",  # glue: single sentence, pair
    "commonsenseqa",  # multiple_choice
    "demo_tense",  # demo
    "ep_pos", "ep_srl",  # edge_probing: one span, two spans
    "se_bshift",  # senteval
    "qamr",  # span_qa
    "ccg", "mlm", "scitail",  # no family: tagging, masked LM, an entailment pair
)  # fmt: skip


# Composing costs more than two tiny training steps: each task node and model node is composed once.
@functools.cache
def task_node(task: str) -> DictConfig:
    """The task's config as the target slot holds it."""
    return compose_cfg([f"task@target={task}", "model=tiny"]).target


@functools.cache
def full_config(model: str) -> DictConfig:
    return compose_cfg([f"model={model}"])


def model_node(model: str) -> DictConfig:
    return full_config(model).model


def fixture_datamodule(
    tmp_path: Path, task: str, model: str = "tiny", batch_size: int | None = None
) -> TaskDataModule:
    """The task's TaskDataModule on its fixture (tests/fixtures/data/<task>) and the model's tokenizer."""
    from stilts.models.encoder import load_tokenizer
    from stilts.tasks.datamodule import TaskDataModule
    from stilts.tasks.spec import TaskSpec

    spec = TaskSpec.from_config(task_node(task), key="target")
    if batch_size is not None:
        spec = dataclasses.replace(spec, batch_size=batch_size)
    tokenizer = load_tokenizer(model_node(model))
    return TaskDataModule(spec, tokenizer, FIXTURES, tmp_path / "cache", source="local")


def tiny_overrides(
    tmp_path: Path, data_dir: Path = FIXTURES, output_dir: Path | None = None, logger: str = "none"
) -> list[str]:
    """Offline CPU settings: tiny model, caches under tmp_path, outputs under output_dir (tmp_path).

    `schedule=epochs`: the fixtures hold a few batches, and the paper's schedule would still train to
    the first validation (5,000 steps by default); tests of the paper's schedule select `schedule=jiant`
    (tests/integration/test_fidelity_schedule.py)."""
    return [
        "model=tiny",
        "schedule=epochs",
        "trainer=cpu",
        f"logger={logger}",
        f"paths.data_dir={data_dir}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"paths.output_dir={output_dir or tmp_path}",
        "+trainer.enable_progress_bar=false",
    ]


def run_tiny_cell(
    tmp_path: Path, overrides: Sequence[str] = (), run_name: str = "run", data_dir: Path = FIXTURES
) -> dict[str, Any]:
    """Run one cell on the tiny model into tmp_path/run_name and return its result record."""
    from stilts.cell import resolve_cell
    from stilts.pipeline import run_cell

    cfg = compose_cfg([*tiny_overrides(tmp_path, data_dir), *overrides])
    return run_cell(resolve_cell(cfg), tmp_path / run_name)


def train_steps(
    tmp_path: Path, task: str, steps: int = 2, slot: str = "target", data_dir: Path = FIXTURES
) -> dict[str, Any]:
    """Train `task` for a few steps in the given slot (`target`, or `intermediate` before cb)."""
    if slot == "target":
        overrides = [f"task@target={task}", f"+trainer.max_steps={steps}"]
    else:
        overrides = [f"task@intermediate={task}", "task@target=rte", f"+trainer.max_steps={steps}"]
    return run_tiny_cell(tmp_path, overrides, data_dir=data_dir)


def write_cell_result(
    run_dir: Path,
    overrides: Sequence[str],
    preds: Sequence[int],
    target: Sequence[int],
    main: float,
    scores: dict[str, float],
    majority: float | None = None,
    forgetting: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a finished cell's result.json and predictions.jsonl with the pipeline's own writer
    (`stilts.pipeline._finish`), without training: synthetic results in the records' real format.

    Args:
        run_dir: The cell's run dir (created).
        overrides: Config overrides after the tiny model's (task@intermediate, task@target, control,
            restart, trainer.precision...).
        preds, target: Per-example class predictions and gold labels (dev examples 0..n-1).
        main, scores: The cell's main score and its metrics, as the stage would report them.
        majority: The majority-class score of the dev set.
        forgetting: The cell's forgetting record, if any.
    """
    from hydra.utils import instantiate

    from stilts.cell import resolve_cell
    from stilts.identity import cell_identity
    from stilts.pipeline import _finish
    from stilts.stage import StageOutcome

    cfg = compose_cfg([*tiny_overrides(run_dir.parent / "unused", output_dir=run_dir.parent), *overrides])
    cell = resolve_cell(cfg)
    predictions = [
        {"idx": i, "preds": int(p), "target": int(t)}
        for i, (p, t) in enumerate(zip(preds, target, strict=True))
    ]
    # The record reads only the module's metrics (for `main_range`), as the stage builds them.
    metrics = {name: instantiate(node) for name, node in cfg.target.metrics.items()}
    outcome = StageOutcome(
        module=SimpleNamespace(val_metrics=metrics),  # type: ignore[arg-type]
        scores=scores,
        main=main,
        majority_baseline=majority,
        predictions=predictions,
        steps=1,
        epochs=1,
        validations=1,
        train_examples=len(predictions),
        val_examples=len(predictions),
        wall_time_s=0.0,
    )
    identity = cell_identity(cell.name, cell.identity, {}, None)
    source = {"kind": "pretrained" if cell.intermediate is None else "intermediate"}
    run_dir.mkdir(parents=True, exist_ok=True)
    return _finish(cell, run_dir, identity, source, outcome, forgetting)


def bench_setting(root: Path) -> Setting:
    """The benchmark tests' setting: a synthetic RTE of 48 training pairs (8-40 tokens) under `root`."""
    from transformers import AutoTokenizer

    from benchmarks.runners import Setting as BenchSetting
    from benchmarks.synthetic import Lengths, write_rte
    from stilts.config import asset_path

    tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))
    write_rte(root / "data" / "rte", tokenizer, 48, Lengths.parse("uniform:8:40"), n_val=8)
    return BenchSetting(
        data_dir=str(root / "data"), cache_dir=str(root / "cache"), work_dir=str(root / "work"), batch_size=8
    )
