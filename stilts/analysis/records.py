"""One result.json record as a flat row: the columns every results source yields, the duplicate key,
and the error for a record that cannot be read. A leaf of the analysis package: the folder and W&B
sources (results.py, wandb_source.py) both build rows with it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stilts.errors import StiltsError

RESULT_FILE = "result.json"
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


def record_row(record: Mapping[str, Any], path: str, predictions: Path | None, created: str = "") -> dict:
    """Flatten one result.json record into a frame row.

    Args:
        record: The parsed result.json dict (schema 1).
        path: Where the record came from (run dir, W&B run path or offline run folder).
        predictions: The cell's predictions.jsonl, if it is available locally.
        created: Creation time (ISO) where the source knows it; used to pick the newest duplicate.

    Returns:
        A flat dict with the `COLUMNS` keys and one `metric/<name>` key per metric.

    Raises:
        ResultsError: When a required key is missing.
    """
    missing = [key for key in ("intermediate", "task", "restart") if key not in record]
    if missing:
        raise ResultsError(f"{path}: result record lacks key(s) {missing}")
    hparams = record.get("hparams") or {}
    status = record.get("status", "finished")
    size = record.get("intermediate_train_size")
    row = {
        "intermediate": str(record["intermediate"]),
        "task": str(record["task"]),
        "role": record.get("role", "target"),
        "family": record.get("family"),
        "restart": int(record["restart"]),
        "seed": record.get("seed"),
        "lr": float(hparams["lr"]) if "lr" in hparams else np.nan,
        "dropout": float(hparams["dropout"]) if "dropout" in hparams else np.nan,
        "main": float(record["main"]) if record.get("main") is not None else np.nan,
        "degenerate": bool(record.get("degenerate", False)),
        "nan_loss": bool(record.get("nan_loss", False)),
        "status": status,
        "error": record.get("error"),
        "intermediate_train_size": int(size) if size is not None else pd.NA,
        "majority_baseline": record.get("majority_baseline", np.nan),
        "cell": record.get("cell", ""),
        "model": record.get("model", ""),
        "path": path,
        "predictions": str(predictions) if predictions is not None else None,
        "created": created,
        "identity": record_identity(record),
        "control": str(record.get("control") or NO_CONTROL),  # records before controls: none
        # `+`-joined metric names whose mean is `main` (stilts.tasks.spec); empty in older records
        "main_metric": metric_names(record.get("main_metric")),
        "precision": str(record.get("precision") or ""),  # records before it was written: unknown
        "batch_size": hparams.get("batch_size"),
        "max_epochs": hparams.get("max_epochs"),
        "max_length": hparams.get("max_length"),
        "schedule": str(record.get("schedule") or ""),
        # why the forgetting measures hold no MLM loss (stilts.forgetting.store); None when they do
        "mlm_unavailable": (record.get("forgetting") or {}).get("mlm_unavailable"),
    }
    for name, value in (record.get("metrics") or {}).items():
        row[METRIC_PREFIX + name] = value
    for name, value in (record.get("forgetting") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            row[FORGETTING_PREFIX + name] = value
    if status == "finished" and np.isnan(row["main"]):
        raise ResultsError(f"{path}: finished result record has no 'main' score")
    return row


def metric_names(value: Any) -> str:
    """The record's `main_metric` (a name or a list of names) as one `+`-joined string."""
    if isinstance(value, str):
        return value
    return "+".join(str(name) for name in value or [])


def record_identity(record: Mapping[str, Any]) -> str:
    """The key that makes two records duplicates (see DUPLICATE_KEY)."""
    if record.get("identity") and record.get("cell"):
        return str(record["cell"])
    hparams = record.get("hparams") or {}
    fields = ["intermediate", "task", "restart", "seed", "intermediate_train_size"]
    return "|".join(
        [*(str(record.get(f)) for f in fields), str(hparams.get("lr")), str(hparams.get("dropout"))]
    )
