"""The result record of a cell: the one writer and the one reader of `result.json`. `CellResult` is
written once per cell, `finished` (stilts.pipeline) or `failed` (`record_failure`), and read back,
validated, by the relaunch check, `stilts-plan`, the sweep summary, the analysis and the ranking.

Schema versions (the `schema` key): 3 is written now (adds `main_range`); 2 (cell identity and
digest) and 1 (the first written) are read as they are; a record without `schema` (hand-made, or
older) is read as version 0 with the same rules. A record of a newer version, a key of the wrong type,
or a `main` score that is not finite, lies outside its metric's range or disagrees with its own
`metrics` is refused with `RecordError`, whose message names the file.

Scores are stored as the metrics compute them, as fractions (an accuracy of 75% is 0.75), never in
percent; the analysis turns them into points. A record's `main_range` is the range of its `main`
score (the mean of the main metrics' ranges, `metric_range`); records written before version 3 carry
none and are held to [-1, 1], the range of every metric stilts shipped then.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig

import stilts
from stilts.errors import StiltsError

log = logging.getLogger(__name__)
RESULT = "result.json"
SCHEMA_VERSION = 3
LEGACY_RANGE = (-1.0, 1.0)  # the `main` range of records without `main_range` (schema < 3)
TOLERANCE = 1e-6
# A metric class's value range by the suffix of its or a base class's name: correlations in [-1, 1];
# accuracy, F1, precision, recall, exact match (also stilts.tasks.metrics_*'s) in [0, 1]; others unknown.
# torchmetrics' plot bounds are only hints (0 for Matthews' correlation, negative below chance).
SHARES = "Accuracy F1Score FBetaScore Precision Recall ExactMatch RecordScore SpanQAScore".split()
SCORE_RANGES = {"CorrCoef": (-1.0, 1.0), **dict.fromkeys(SHARES, (0.0, 1.0))}


class RecordError(StiltsError):
    """A result.json cannot be read as a cell result; the message names the file and the fault."""


@dataclass(frozen=True)
class StageHparams:
    """The downstream stage's training settings as the record keeps them (`hparams`)."""

    lr: float | None = None
    dropout: float | None = None
    batch_size: int | None = None
    max_epochs: int | None = None
    val_interval: int | None = None
    max_vals: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class CellResult:
    """One cell's result. On disk, a key whose value is None is left out (`to_dict`)."""

    status: Literal["finished", "failed"]
    intermediate: str | None
    task: str | None
    restart: int | None
    schema: int = SCHEMA_VERSION
    stilts_version: str | None = None
    finished_at: str | None = None
    cell: str | None = None
    cell_digest: str | None = None
    identity: dict[str, Any] | None = None
    control: str | None = None
    role: str | None = None
    family: str | None = None
    seed: int | None = None
    model: str | None = None
    hparams: StageHparams = field(default_factory=StageHparams)
    schedule: str | None = None
    precision: str | None = None
    main_metric: list[str] | None = None
    main: float | None = None
    main_range: list[float] | None = None
    metrics: dict[str, float] | None = None
    majority_baseline: float | None = None
    degenerate: bool | None = None
    nan_loss: bool | None = None
    steps: int | None = None
    epochs: int | None = None
    validations: int | None = None
    train_examples: int | None = None
    val_examples: int | None = None
    wall_time_s: float | None = None
    encoder_source: dict[str, Any] | None = None
    forgetting: dict[str, Any] | None = None
    intermediate_train_size: int | None = None
    wandb_run: str | None = None
    error: str | None = None
    traceback: str | None = None

    def finishes(self, digest: str) -> bool:
        """Whether this is the finished result of the cell whose identity digest is `digest`."""
        return self.status == "finished" and self.cell_digest == digest

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field that has a value, `hparams` as a nested dict."""
        data = asdict(self)
        data["hparams"] = {k: v for k, v in data["hparams"].items() if v is not None}
        return {k: v for k, v in data.items() if v is not None and v != {}}

    def write(self, run_dir: Path) -> Path:
        """Write the record as `run_dir/result.json` (atomically) after checking it as a reader would."""
        from stilts.runs import write_atomic  # stilts.runs imports torch; the analysis reads without it

        path = run_dir / RESULT
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        CellResult.from_dict(json.loads(text), str(path))  # never write what cannot be read back
        write_atomic(path, text)
        return path

    @classmethod
    def from_dict(cls, data: Any, where: str) -> CellResult:
        """The record in `data` (a parsed result.json), validated; `where` names it in errors.

        Keys stilts does not know are ignored (a newer minor addition, or a note added by hand)."""
        if not isinstance(data, Mapping):
            raise RecordError(f"{where}: a result record is a JSON object, not {type(data).__name__}")
        version = data.get("schema", 0)
        if not _is(version, int) or version < 0:
            raise RecordError(f"{where}: `schema` is {version!r}; expected a version number")
        if version > SCHEMA_VERSION:
            raise RecordError(
                f"{where}: written by a newer stilts (schema {version}); this one reads schema "
                f"<= {SCHEMA_VERSION}: upgrade stilts to read it"
            )
        values: dict[str, Any] = {"status": "finished", "intermediate": None, "task": None, "restart": None}
        hints = typing.get_type_hints(cls)
        for spec in fields(cls):
            if spec.name in data and spec.name != "schema":
                values[spec.name] = _typed(data[spec.name], hints[spec.name], where, spec.name)
        record = cls(**values, schema=version)
        record.check(where)
        return record

    def check(self, where: str) -> None:
        """The rules beyond types: a finished record names its cell and has a sound `main` score."""
        if self.restart is not None and self.restart < 0:
            raise RecordError(f"{where}: `restart` is {self.restart}; expected a whole number >= 0")
        if self.status != "finished":
            return
        missing = [key for key in ("intermediate", "task", "restart") if getattr(self, key) is None]
        if missing:
            raise RecordError(f"{where}: finished result record lacks key(s) {missing}")
        if self.main is None or not math.isfinite(self.main):
            raise RecordError(f"{where}: finished result record has no finite 'main' score ({self.main})")
        if self.main_range is not None and len(self.main_range) != 2:
            raise RecordError(f"{where}: `main_range` is {self.main_range}; expected [low, high]")
        # Before schema 3 no record held `main_range`; every metric stilts had then lay in [-1, 1].
        low, high = self.main_range or (LEGACY_RANGE if self.schema < 3 else (None, None))
        if (low is not None and self.main < low - TOLERANCE) or (
            high is not None and self.main > high + TOLERANCE
        ):
            raise RecordError(
                f"{where}: `main` is {self.main}, outside its metric's range [{low}, {high}] "
                "(scores are fractions, not percent)"
            )
        parts = [(self.metrics or {}).get(name) for name in self.main_metric or ()]
        if parts and all(isinstance(p, float) and math.isfinite(p) for p in parts):
            mean = sum(parts) / len(parts)  # type: ignore[arg-type]
            if abs(mean - self.main) > TOLERANCE:
                raise RecordError(
                    f"{where}: `main` is {self.main}, but its metrics {self.main_metric} give {mean:.6g}"
                )


def _is(value: Any, kind: type) -> bool:
    """isinstance without bool passing for a number."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _typed(value: Any, hint: Any, where: str, key: str) -> Any:
    """`value` of record key `key` checked against its type `hint` (ints become floats where floats
    are due); `where` names the record in errors."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _typed(value, inner, where, key)
    wrong = f"{where}: `{key}` is {value!r}; expected"
    if origin is Literal:
        if value not in args:
            raise RecordError(f"{wrong} one of {list(args)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(f"{wrong} a list")
        return [_typed(v, args[0], where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is StageHparams:
        if not isinstance(value, Mapping):
            raise RecordError(f"{wrong} a mapping")
        if origin is dict:
            return {str(k): _typed(v, args[1], where, f"{key}.{k}") for k, v in value.items()}
        hints = typing.get_type_hints(StageHparams)
        known = {k: v for k, v in value.items() if k in hints}
        return StageHparams(**{k: _typed(v, hints[k], where, f"{key}.{k}") for k, v in known.items()})
    if not _is(value, hint):
        raise RecordError(f"{wrong} {_NAMES.get(hint, hint.__name__)}")
    return float(value) if hint is float else value


_NAMES = {str: "a text", int: "a whole number", float: "a number", bool: "true or false"}


def read_result(path: Path) -> CellResult | None:
    """The record in `path`; None when there is none. Raises RecordError when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RecordError(f"{path}: cannot be read ({err.strerror or err})") from err
    try:
        data = json.loads(text)
    except ValueError as err:
        raise RecordError(f"{path}: not JSON ({err})") from err
    return CellResult.from_dict(data, str(path))


def finished_result(run_dir: Path, digest: str) -> CellResult | None:
    """The result of an earlier launch of this very cell (same digest), if it finished. A record that
    cannot be used is reported and treated as absent: the cell runs again and replaces it."""
    try:
        result = read_result(run_dir / RESULT)
    except RecordError as err:
        log.warning("%s; the cell runs again", err)
        return None
    return result if result is not None and result.finishes(digest) else None


def metric_range(metric: object) -> tuple[float, float] | None:
    """The range of a metric's value (see SCORE_RANGES), or None when it is not known."""
    for cls in type(metric).__mro__:
        for suffix, bounds in SCORE_RANGES.items():
            if cls.__name__.endswith(suffix):
                return bounds
    return None


def main_range(metrics: Mapping[str, object], main_metric: tuple[str, ...]) -> list[float] | None:
    """The range of `main`, the mean of the `main_metric` metrics; None when one range is unknown."""
    ranges = [metric_range(metrics[name]) for name in main_metric]
    if not ranges or any(r is None for r in ranges):
        return None
    return [sum(r[0] for r in ranges) / len(ranges), sum(r[1] for r in ranges) / len(ranges)]  # type: ignore[index]


def record_failure(run_dir: Path, cfg: DictConfig, error: BaseException) -> CellResult:
    """Write a `failed` result.json naming the error, so the sweep can go on and report it. Reads the
    composed config (a failed cell's may not resolve, stilts.cell). Never raises on a bad one (a field
    it cannot read is left out), nor when the record cannot be written (a full disk: logged, with path)."""
    from stilts.identity import identity_material, short_hash  # imports torch: only where cells run

    def safe(read: Any, kind: type) -> Any:
        try:
            value = read()
        except Exception:  # noqa: BLE001 - a record of the failure matters more than each field
            return None
        return value if _is(value, kind) else None

    result = CellResult(
        status="failed",
        stilts_version=stilts.__version__,
        cell=safe(lambda: cfg.cell_name, str),
        cell_digest=safe(lambda: "config-" + short_hash(identity_material(cfg).cell()), str),
        intermediate=safe(lambda: cfg.intermediate.name, str),
        task=safe(lambda: cfg.target.name, str),
        restart=safe(lambda: cfg.restart if cfg.restart >= 0 else None, int),
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        error=f"{type(error).__name__}: {error}",
        traceback="".join(traceback.format_exception(error))[-5000:],
    )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        result.write(run_dir)
    except (OSError, StiltsError) as err:  # StorageError: a full disk, a read-only run dir
        log.error("cannot record the failure in %s: %s", run_dir / RESULT, err)
    return result
