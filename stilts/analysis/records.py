"""One result.json record as a flat row: the columns every results source yields, the duplicate key,
and the error for a source that cannot be read. A leaf of the analysis package: the folder and W&B
sources (results.py, wandb_source.py) both build rows with it, reading each record through
stilts.result.CellResult (validated: a bad record raises RecordError, which the sources report and
leave out)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stilts.errors import StiltsError
from stilts.result import RESULT, CellResult, RecordError

log = logging.getLogger(__name__)
RESULT_FILE = RESULT
PREDICTIONS_FILE = "predictions.jsonl"
BASELINE = "none"
METRIC_PREFIX = "metric/"
FORGETTING_PREFIX = "forgetting/"  # scalar forgetting measures of the cell's encoder (stilts.forgetting)
NO_CONTROL = "none"
COLUMNS = [
    "intermediate",
    "task",
    "role",
    "family",
    "restart",
    "seed",
    "lr",
    "dropout",
    "main",
    "degenerate",
    "nan_loss",
    "status",
    "error",
    "intermediate_train_size",
    "majority_baseline",
    "cell",
    "model",
    "path",
    "predictions",
    "created",
    "identity",
    "control",
    "main_metric",
    "precision",
    "batch_size",
    "max_epochs",
    "max_length",
    "schedule",
    "mlm_unavailable",
]
# The record fields besides control and the intermediate training-set size that change a run's result
# when they differ between two runs of one task (stilts.analysis.settings keeps such runs apart).
SETTING_FIELDS = ["model", "precision", "lr", "dropout", "batch_size", "max_epochs", "max_length", "schedule"]
# Two records with the same `identity` are duplicates: the cell's name (stilts.identity.cell_name,
# which hashes every setting that changes the result) for records that carry one (schema >= 2);
# for older records, the slot fields (intermediate, task, restart, seed, lr, dropout, size).
DUPLICATE_KEY = ["identity"]


class ResultsError(StiltsError):
    """A results source cannot be read; the message names the file or source at fault."""


def reject(rejected: list[str] | None, err: RecordError) -> None:
    """Report a record that is left out of the analysis (never plotted), and keep it for the report."""
    log.warning("left out of the analysis: %s", err)
    if rejected is not None:
        rejected.append(str(err))


def record_row(
    record: Any, path: str, predictions: Path | None, created: str = "", where: Path | None = None
) -> dict:
    """Flatten one result.json record into a frame row, after validating it (stilts.result).

    Args:
        record: The parsed result.json dict (any schema stilts reads, stilts.result).
        path: Where the record came from (run dir, W&B run path or offline run folder).
        predictions: The cell's predictions.jsonl, if it is available locally.
        created: Creation time (ISO) where the source knows it; used to pick the newest duplicate.
        where: The file the record was read from, for errors (default `path`).

    Returns:
        A flat dict with the `COLUMNS` keys and one `metric/<name>` key per metric.

    Raises:
        RecordError: When the record is not a valid cell result (names `path`) or does not name its
            cell (intermediate, task, restart: a failure recorded before the config could be read).
    """
    name = str(where or path)
    result = CellResult.from_dict(record, name)
    missing = [key for key in ("intermediate", "task", "restart") if getattr(result, key) is None]
    if missing:
        raise RecordError(f"{name}: {result.status} result record lacks key(s) {missing} ({result.error})")
    size = result.intermediate_train_size
    row = {
        "intermediate": result.intermediate,
        "task": result.task,
        "role": result.role or "target",
        "family": result.family,
        "restart": result.restart,
        "seed": result.seed,
        "lr": np.nan if result.hparams.lr is None else result.hparams.lr,
        "dropout": np.nan if result.hparams.dropout is None else result.hparams.dropout,
        "main": np.nan if result.main is None else result.main,
        "degenerate": bool(result.degenerate),
        "nan_loss": bool(result.nan_loss),
        "status": result.status,
        "error": result.error,
        "intermediate_train_size": pd.NA if size is None else size,
        "majority_baseline": np.nan if result.majority_baseline is None else result.majority_baseline,
        "cell": result.cell or "",
        "model": result.model or "",
        "path": path,
        "predictions": str(predictions) if predictions is not None else None,
        "created": created,
        "identity": record_identity(result),
        "control": result.control or NO_CONTROL,  # records before controls: none
        # `+`-joined metric names whose mean is `main` (stilts.tasks.spec); empty in older records
        "main_metric": metric_names(result.main_metric),
        "precision": result.precision or "",  # records before it was written: unknown
        "batch_size": result.hparams.batch_size,
        "max_epochs": result.hparams.max_epochs,
        "max_length": result.hparams.max_length,
        "schedule": result.schedule or "",
        # why the forgetting measures hold no MLM loss (stilts.forgetting.store); None when they do
        "mlm_unavailable": (result.forgetting or {}).get("mlm_unavailable"),
    }
    for name, value in (result.metrics or {}).items():
        row[METRIC_PREFIX + name] = value
    for name, value in (result.forgetting or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            row[FORGETTING_PREFIX + name] = value
    return row


def metric_names(value: Any) -> str:
    """The record's `main_metric` (a name or a list of names) as one `+`-joined string."""
    if isinstance(value, str):
        return value
    return "+".join(str(name) for name in value or [])


def record_identity(result: CellResult) -> str:
    """The key that makes two records duplicates (see DUPLICATE_KEY)."""
    if result.identity and result.cell:
        return result.cell
    slot = [result.intermediate, result.task, result.restart, result.seed, result.intermediate_train_size]
    return "|".join([*map(str, slot), str(result.hparams.lr), str(result.hparams.dropout)])
