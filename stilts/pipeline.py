"""One cell of the study: an optional intermediate stage (cached), then the target/probing stage.

The intermediate encoder comes from the content-addressed cache (stilts.cache), trained at most once
per (model, task definition, data, hyperparameters, seed, max length, featurizer version). The
downstream stage loads it strictly into a fresh encoder and starts a fresh head and optimizer.
Every finished cell writes `result.json` and `predictions.jsonl` atomically into its run dir.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

import stilts
from stilts.cache import EncoderCache, cache_key
from stilts.cell import Cell
from stilts.controls import NO_CONTROL, control_name
from stilts.forgetting.readout import MLM_HEAD
from stilts.forgetting.store import forgetting_record
from stilts.identity import NO_TASK, CellIdentity, cell_identity
from stilts.launch import is_rank_zero
from stilts.models.encoder import load_tokenizer
from stilts.models.mlm_head import MaskedLMHead
from stilts.result import CellResult, StageHparams, finished_result, main_range
from stilts.runs import LOCK, check_writable, prepare_run_dir, save_tensors, write_atomic
from stilts.stage import StageOutcome, make_datamodule, train_stage
from stilts.stale import report_older_entries, supersede_older_results
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.featurizers import tokenizer_digest

log = logging.getLogger(__name__)
PREDICTIONS = "predictions.jsonl"
DATA_SPLITS = ("train", "val")


def stage_data(datamodule: TaskDataModule, tokenizer: Any) -> dict[str, Any]:
    """The data part of a stage's identity: its splits' content fingerprints, the featurizer's version
    and the tokenizer's digest (the featurized inputs depend on all three)."""
    featurizer = datamodule.featurizer
    return {
        **{split: datamodule.data_fingerprint(split) for split in DATA_SPLITS},
        "featurizer": [type(featurizer).__qualname__, featurizer.version],
        "tokenizer": tokenizer_digest(tokenizer),
    }


def intermediate_key_material(cell: Cell, datamodule: TaskDataModule, tokenizer: Any) -> dict[str, Any]:
    """The material of the intermediate encoder's cache key (stilts.identity, with its task's data)."""
    return cell.identity.intermediate_key(stage_data(datamodule, tokenizer))


def intermediate_encoder(
    cell: Cell, datamodule: TaskDataModule, material: dict[str, Any], run_dir: Path, tokenizer: Any
) -> dict[str, Any]:
    """Get (train at most once) the intermediate encoder of `cell` (whose intermediate stage trains on
    `datamodule`, keyed by `material`); return its cache entry's description."""
    assert cell.intermediate is not None, "a cell with a `none` intermediate has no intermediate encoder"
    stage, spec, seed = cell.intermediate, datamodule.spec, int(material["seed"])
    cache = EncoderCache(Path(cell.paths.cache_dir) / "intermediate")
    report_older_entries(cache.root, cache_key(material), spec.name, seed)

    def train(folder: Path) -> dict[str, Any]:
        outcome = train_stage(cell, stage, run_dir / "intermediate", tokenizer, None, datamodule)
        meta: dict[str, Any] = {}
        try:
            save_tensors(
                {k: v.contiguous() for k, v in outcome.module.encoder.state_dict().items()},
                folder / "encoder.safetensors",
            )
            meta = {
                "scores": outcome.scores,
                "main": outcome.main,
                "steps": outcome.steps,
                "trained_in": str(run_dir),
            }
        finally:
            meta["wandb_run"] = outcome.close_logger({"intermediate": meta}, "success" if meta else "failed")
        return meta

    entry = cache.get_or_train(material, train, publish=is_rank_zero())
    return {
        "kind": "intermediate",
        "task": spec.name,
        "seed": seed,
        "cache_key": entry.meta["key"],
        "path": str(entry.weights),
        "sha256": entry.meta["sha256"],
        "trained_now": entry.trained_now,
        "intermediate_main": entry.meta.get("main"),
        "intermediate_scores": entry.meta.get("scores"),
        "intermediate_wandb_run": entry.meta.get("wandb_run"),
    }


def build_result(cell: Cell, source: dict[str, Any], out: StageOutcome) -> CellResult:
    """The finished record of `cell`, whose downstream stage ended with `out` from the encoder `source`."""
    spec, seed = cell.downstream.spec, cell.downstream.seed
    degenerate = out.majority_baseline is not None and out.main <= out.majority_baseline + 1e-9
    return CellResult(
        status="finished",
        stilts_version=stilts.__version__,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        cell=cell.name,
        intermediate=NO_TASK if cell.intermediate is None else cell.intermediate.spec.name,
        control=NO_CONTROL if cell.intermediate is None else control_name(cell.intermediate.control),
        task=spec.name,
        role=spec.role,
        family=spec.cfg.get("family"),
        restart=cell.restart,
        seed=seed,
        model=cell.model.name,
        hparams=StageHparams(
            lr=spec.lr,
            dropout=spec.dropout,
            batch_size=spec.batch_size,
            max_epochs=spec.max_epochs,
            val_interval=spec.val_interval,
            max_vals=spec.max_vals,
            max_length=cell.inputs.max_length,
        ),
        schedule=cell.schedule,
        precision=str(cell.trainer.get("precision")),  # changes the result (a setting of its own)
        main_metric=list(spec.main_metric),
        main=out.main,
        main_range=main_range(out.module.val_metrics, spec.main_metric),
        metrics=out.scores,
        majority_baseline=out.majority_baseline,
        degenerate=bool(degenerate),
        nan_loss=bool(out.extra.get("nan_loss", False)),
        steps=out.steps,
        epochs=out.epochs,
        validations=out.validations,
        train_examples=out.train_examples,
        val_examples=out.val_examples,
        wall_time_s=round(out.wall_time_s, 3),
        encoder_source=source,
    )


def run_cell(cell: Cell, run_dir: str | Path) -> dict[str, Any]:
    """Run one cell into `run_dir` and return its result record (also written as result.json).

    `cell` is resolved from a checked config (stilts.cell.resolve_cell); the folders are checked
    before any work, and the run dir is locked for the cell's duration, so two jobs of the same cell
    (e.g. a repeated value in a sweep) run it once: the second one waits, then finds it finished.
    """
    run_dir = Path(run_dir)
    check_writable(Path(cell.paths.cache_dir), "paths.cache_dir")
    check_writable(run_dir, "paths.output_dir")
    with FileLock(str(run_dir / LOCK)) if is_rank_zero() else nullcontext():
        return _run_locked(cell, run_dir)


@dataclass
class PreparedCell:
    """A cell's identity and the data modules it computed them from (each built once per cell)."""

    identity: CellIdentity
    target_data: TaskDataModule
    intermediate: tuple[TaskDataModule, dict[str, Any]] | None  # data module, cache-key material


def prepare_cell(cell: Cell, tokenizer: Any) -> PreparedCell:
    """Read what identifies the cell: both stages' data fingerprints and the intermediate encoder's
    cache key (stilts-plan calls this too, so both agree on every cell)."""
    downstream = cell.downstream
    target_data = make_datamodule(cell, downstream.spec, tokenizer, downstream.seed)
    fingerprints = {split: target_data.data_fingerprint(split) for split in DATA_SPLITS}
    intermediate: tuple[TaskDataModule, dict[str, Any]] | None = None
    if cell.intermediate is not None:
        datamodule = make_datamodule(cell, cell.intermediate.spec, tokenizer, cell.intermediate.seed)
        intermediate = datamodule, cell.identity.intermediate_key(stage_data(datamodule, tokenizer))
    key = cache_key(intermediate[1]) if intermediate else None
    identity = cell_identity(cell.name, cell.identity, fingerprints, key)
    return PreparedCell(identity, target_data, intermediate)


def _run_locked(cell: Cell, run_dir: Path) -> dict[str, Any]:
    tokenizer = load_tokenizer(cell.model)
    prepared = prepare_cell(cell, tokenizer)
    done = finished_result(run_dir, prepared.identity.digest)
    if done is not None and not cell.force:
        log.info("cell %s already finished (%s); skipping it (force=true reruns it)", cell.name, run_dir)
        return {**done.to_dict(), "skipped": True}
    if is_rank_zero():
        supersede_older_results(run_dir)
        prepare_run_dir(run_dir, prepared.identity, force=cell.force)
    if prepared.intermediate is None:
        source: dict[str, Any] = {
            "kind": "pretrained",
            "model": cell.model.name,
            "pretrained": cell.model.pretrained,
        }
        weights = None
    else:
        source = intermediate_encoder(cell, *prepared.intermediate, run_dir, tokenizer)
        weights = Path(source["path"])
    # Measured once per encoder (cached beside it), before the target stage so a problem shows early.
    forgetting = (
        forgetting_record(cell, tokenizer, weights.parent if weights else None) if is_rank_zero() else None
    )
    stage_dir = run_dir / cell.downstream.role
    outcome = train_stage(cell, cell.downstream, stage_dir, tokenizer, weights, prepared.target_data)
    try:
        result = _finish(cell, run_dir, prepared.identity, source, outcome, forgetting)
    finally:
        outcome.close_logger(status="failed")  # a no-op when _finish closed it after writing the result
    return result.to_dict()


def _finish(
    cell: Cell,
    run_dir: Path,
    identity: CellIdentity,
    source: dict[str, Any],
    outcome: StageOutcome,
    forgetting: dict[str, Any] | None = None,
) -> CellResult:
    """Write the cell's result, predictions and (optionally) encoder; close the stage's logger."""
    size = None if cell.intermediate is None else cell.intermediate.spec.train_size
    result = replace(
        build_result(cell, source, outcome),
        forgetting=forgetting,
        cell=identity.name,
        cell_digest=identity.digest,
        identity=identity.record(),
        intermediate_train_size=size,
    )
    result = replace(result, wandb_run=outcome.close_logger({"result": result.to_dict()}))
    if not is_rank_zero():  # results and predictions are written once, by rank zero
        return result
    lines = "".join(json.dumps(row) + "\n" for row in sorted(outcome.predictions, key=lambda r: r["idx"]))
    write_atomic(run_dir / PREDICTIONS, lines)
    if cell.save_encoder:
        weights = {k: v.contiguous() for k, v in outcome.module.encoder.state_dict().items()}
        save_tensors(weights, run_dir / "encoder.safetensors")
        _save_mlm_head(outcome.module.head, run_dir)
    path = result.write(run_dir)
    if cell.delete_checkpoints:
        for stage in ("intermediate", cell.downstream.role):
            shutil.rmtree(run_dir / stage / "checkpoints", ignore_errors=True)
    log.info("cell %s: %s main=%.4f -> %s", identity.name, cell.downstream.spec.name, result.main, path)
    return result


def _save_mlm_head(head: Any, run_dir: Path) -> None:
    """Keep an MLM stage's head beside its encoder: forgetting measures read every later encoder out
    with it (stilts.forgetting.readout). The decoder is tied to the encoder's embeddings, so only the
    head's own tensors are written."""
    if not isinstance(head, MaskedLMHead):
        return
    own = {k: v.contiguous() for k, v in head.state_dict().items() if not k.startswith("embeddings.")}
    save_tensors(own, run_dir / MLM_HEAD)
