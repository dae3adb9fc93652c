"""Load cell results (result.json records) from run folders, W&B or offline W&B runs into one frame.

One row per cell record with the columns `COLUMNS` plus one `metric/<name>` column per metric.
`load_results` reads every valid record it finds (finished and failed); a record that is not a valid
cell result (stilts.result: a newer schema, a wrong type, a score outside its metric's range) is
reported with its path and left out, never plotted. `deduplicate` then keeps one record per cell key
and lists the others, so repeated cells are never averaged silently.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from stilts.analysis.records import (  # noqa: F401 - re-exported: the results API of the package
    BASELINE,
    COLUMNS,
    DUPLICATE_KEY,
    FORGETTING_PREFIX,
    METRIC_PREFIX,
    NO_CONTROL,
    PREDICTIONS_FILE,
    RESULT_FILE,
    RecordError,
    ResultsError,
    record_identity,
    record_row,
    reject,
)

log = logging.getLogger(__name__)


def rows_to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the results frame from flat rows (see `record_row`), with stable column order and dtypes."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    metrics = sorted(c for c in frame.columns if c.startswith((METRIC_PREFIX, FORGETTING_PREFIX)))
    frame = frame.reindex(columns=COLUMNS + metrics)
    frame["restart"] = frame["restart"].astype(int)
    frame["intermediate_train_size"] = frame["intermediate_train_size"].astype("Int64")
    for col in ["main", "lr", "dropout", "majority_baseline", *metrics]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame.sort_values(["task", "intermediate", "restart", "path"], ignore_index=True)


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Frame from in-memory result records (e.g. built in a test or a notebook); path = cell name."""
    return rows_to_frame(record_row(rec, str(rec.get("cell", i)), None) for i, rec in enumerate(records))


def load_folder(root: Path, rejected: list[str]) -> pd.DataFrame:
    """Every valid result.json under `root` (any depth), with its run dir as `path`; the others are
    reported and appended to `rejected`. Hidden folders are skipped: superseded runs
    (`<sweep>/.superseded/`) and cache or Hydra bookkeeping live there."""
    rows = []
    for file in sorted(root.rglob(RESULT_FILE)):
        if any(part.startswith(".") for part in file.relative_to(root).parts[:-1]):
            continue
        preds = file.parent / PREDICTIONS_FILE
        try:
            rows.append(
                record_row(read_json(file), str(file.parent), preds if preds.is_file() else None, where=file)
            )
        except RecordError as err:
            reject(rejected, err)
    log.info("read %d result.json files under %s", len(rows), root)
    return rows_to_frame(rows)


def read_json(path: Path) -> Any:
    """Parse one JSON file; errors name the file."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise RecordError(f"{path}: cannot read JSON ({err})") from err


def load_results(source: str | Path, api: Any = None, rejected: list[str] | None = None) -> pd.DataFrame:
    """Load every cell record from a results source.

    Args:
        source: A folder holding result.json files at any depth (a sweep or run dir); a folder of
            offline W&B runs (`wandb/offline-run-*`, used when it holds no result.json), also forced
            with `offline:PATH`; or `wandb:ENTITY/PROJECT` for the W&B public API.
        api: A `wandb.Api`-like object for `wandb:` sources (tests pass a fake); default `wandb.Api()`.
        rejected: Where to append the message (path and fault) of each record left out as invalid;
            they are logged as warnings either way.

    Returns:
        One row per valid record, finished and failed, duplicates included (see `deduplicate`).

    Raises:
        ResultsError: When the source does not exist or holds no valid records.
    """
    from stilts.analysis import wandb_source  # wandb is heavy; only import it for W&B sources

    text, bad = str(source), [] if rejected is None else rejected
    if text.startswith("wandb:"):
        frame = rows_to_frame(wandb_source.api_rows(text.removeprefix("wandb:"), api, bad))
    elif text.startswith("offline:"):
        frame = rows_to_frame(wandb_source.offline_rows(Path(text.removeprefix("offline:")), bad))
    else:
        root = Path(text)
        if not root.exists():
            raise ResultsError(f"{root}: results source does not exist")
        frame = load_folder(root, bad)
        if frame.empty and not bad:
            frame = rows_to_frame(wandb_source.offline_rows(root, bad))
    if frame.empty:
        left_out = f"; {len(bad)} left out as invalid, first: {bad[0]}" if bad else ""
        raise ResultsError(
            f"{source}: no result records found (result.json or W&B runs with a 'result'){left_out}"
        )
    return frame


def natural_key(text: str) -> list[Any]:
    """Sort key that orders digit runs numerically, so `.../9` comes before `.../10`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def deduplicate(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one record per cell key (`DUPLICATE_KEY`) and list the records dropped.

    The kept record is a finished one if any, else the newest: latest W&B `created` time, then the
    latest path in natural order (Hydra multirun paths are time-stamped, so that is the newest sweep).

    Args:
        frame: The frame from `load_results`.

    Returns:
        (kept, dropped): `dropped` has the dropped records plus `kept_path`, the record kept instead.
    """
    if frame.empty:
        return frame, frame.assign(kept_path=pd.Series(dtype=object))
    order = sorted(
        frame.index,
        key=lambda i: (
            frame.at[i, "status"] == "finished",
            str(frame.at[i, "created"] or ""),
            natural_key(str(frame.at[i, "path"])),
        ),
    )
    ranked = frame.loc[order]
    dup = ranked.duplicated(DUPLICATE_KEY, keep="last")
    kept = ranked[~dup].sort_index()
    dropped = ranked[dup].sort_index()
    if not dropped.empty:
        kept_at = {
            cell_key(k): p for k, p in zip(kept[DUPLICATE_KEY].itertuples(False), kept["path"], strict=True)
        }
        dropped = dropped.assign(
            kept_path=[kept_at[cell_key(k)] for k in dropped[DUPLICATE_KEY].itertuples(False)]
        )
        for row in dropped.itertuples():
            log.warning(
                "duplicate cell %s -> %s restart %s: dropped %s, kept %s",
                row.intermediate,
                row.task,
                row.restart,
                row.path,
                row.kept_path,
            )
    else:
        dropped = dropped.assign(kept_path=pd.Series(dtype=object))
    return kept, dropped


def cell_key(values: Iterable[Any]) -> tuple[Any, ...]:
    """Hashable cell key with every missing value (NaN, NA, None) as None, since NaN != NaN."""
    return tuple(None if pd.isna(v) else v for v in values)


def capped_sizes(frame: pd.DataFrame) -> pd.Series:
    """Intermediate tasks trained on one capped training-set size only (a study's documented, seeded
    `train_size` cap, not a size curve): intermediate -> that size. A task with several sizes, or with
    uncapped runs beside capped ones, is a size curve (Figure 6) and is not listed."""
    done = frame[(frame["status"] == "finished") & (frame["intermediate"] != BASELINE)]
    sizes = done.groupby("intermediate")["intermediate_train_size"]
    single = sizes.agg(lambda s: s.notna().all() and s.nunique() == 1)
    return sizes.first()[single[single].index].astype(int) if single.any() else pd.Series(dtype=int)


def finished_full_size(frame: pd.DataFrame) -> pd.DataFrame:
    """Finished records of the runs of Figures 2-5: without `intermediate_train_size`, or of an
    intermediate task trained on one capped size only (`capped_sizes`)."""
    finished = frame["status"] == "finished"
    capped = frame["intermediate"].isin(capped_sizes(frame).index)
    return frame[finished & (frame["intermediate_train_size"].isna() | capped)]


def prediction_rows(path: str | Path) -> Iterator[tuple[int, Any, Any]]:
    """(`idx`, `preds`, `target`) of each line of a predictions.jsonl.

    Raises:
        ResultsError: When a line is not JSON or lacks `idx`, `preds` or `target` (names file and line).
    """
    with Path(path).open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield int(row["idx"]), row["preds"], row["target"]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ResultsError(f"{path}:{number}: bad prediction line ({err!r})") from err


def read_predictions(path: str | Path) -> pd.Series:
    """Per-example correctness from a predictions.jsonl, indexed by `idx`.

    Correct means `preds == target` for scalars, or equal lists of the same length (exact match, for
    multi-label heads); any other shape (e.g. a span against a list of gold answers) gives NaN, which
    leaves the cell without a bootstrap interval rather than inventing one.

    Raises:
        ResultsError: When a line is not JSON or lacks `idx`, `preds` or `target` (names file and line).
    """
    values = {idx: correctness(pred, gold) for idx, pred, gold in prediction_rows(path)}
    return pd.Series(values, dtype=float).sort_index()


def correctness(pred: Any, gold: Any) -> float:
    """1.0 / 0.0 for comparable predictions, NaN when the shapes cannot be compared (see read_predictions)."""
    scalar = (int, float, str, bool)
    if isinstance(pred, scalar) and isinstance(gold, scalar):
        return float(pred == gold)
    if isinstance(pred, list) and isinstance(gold, list) and len(pred) == len(gold):
        return float(pred == gold)
    return float("nan")
