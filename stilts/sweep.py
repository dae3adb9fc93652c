"""Sweep bookkeeping: the done / skipped / failed / unfinished summary written when a multirun ends,
and the output checks made before Hydra creates any folder.

The summary covers the cells of *this* launch only: Hydra writes each job's `.hydra/` record into
its run dir when the job starts, so a run dir whose `.hydra/` is older than the launch belongs to an
earlier one (e.g. the cells a narrowed relaunch left out) and is not counted. A sweep with a failed
or unfinished cell exits with status 1 after its summary, so scripts that check `$?` see it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from stilts.errors import ConfigError
from stilts.result import RESULT, RecordError, read_result
from stilts.runs import SUPERSEDED, check_folder_name, check_writable, write_atomic

log = logging.getLogger("stilts")
OUTCOMES = ("done", "skipped", "failed", "unfinished")
FAILED_CELLS = 1  # the exit status of a sweep with failed cells (a config refused up front gives 2)


def launched_since(run_dir: Path, started: float) -> bool:
    record = run_dir / ".hydra" / "overrides.yaml"
    return record.is_file() and record.stat().st_mtime >= started


def summarize(sweep_dir: Path, started: float) -> dict[str, list[str]]:
    """Cells of a sweep folder launched at or after `started`, by outcome; `skipped` are those that
    had finished before (their result is older than the launch)."""
    outcome: dict[str, list[str]] = {name: [] for name in OUTCOMES}
    cells = sorted(p for p in sweep_dir.iterdir() if p.is_dir()) if sweep_dir.is_dir() else []
    for cell in cells:
        if cell.name == SUPERSEDED or not launched_since(cell, started):
            continue
        try:
            result = read_result(cell / RESULT)
        except RecordError as err:
            outcome["failed"].append(f"{cell.name}: {err}")
            continue
        if result is None:
            outcome["unfinished"].append(cell.name)
        elif result.status == "failed":
            outcome["failed"].append(f"{cell.name}: {result.error}")
        elif (cell / RESULT).stat().st_mtime < started:
            outcome["skipped"].append(cell.name)
        else:
            outcome["done"].append(cell.name)
    return outcome


class SweepSummary(Callback):
    """Logs, at the end of a multirun, how many cells of the launch finished, were skipped or failed,
    and writes the same to `<sweep dir>/summary.json`; exits with status 1 when a cell failed or left
    no result."""

    def __init__(self) -> None:
        # Hydra builds its callbacks right before `on_multirun_start` (hydra/_internal/hydra.py,
        # `Hydra.multirun`), so this is the launch's start. One second of slack: file systems with
        # coarse timestamps may date a job's files earlier.
        self.started = time.time() - 1.0

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        outcome = summarize(sweep_dir, self.started)
        counts = ", ".join(f"{len(outcome[name])} {name}" for name in OUTCOMES)
        log.info("sweep %s: %s", sweep_dir, counts)
        for line in outcome["failed"]:
            log.error("failed: %s", line)
        if sweep_dir.is_dir():
            write_atomic(sweep_dir / "summary.json", json.dumps(outcome, indent=2))
        if outcome["failed"] or outcome["unfinished"]:
            # Hydra itself exits 0 once every job returned; a SystemExit passes its callback guard.
            raise SystemExit(FAILED_CELLS)


class OutputFolderCheck(Callback):
    """Refuses, before Hydra creates any folder, an output folder stilts cannot write to (a file, a
    read-only folder: `paths.output_dir`, `hydra.run.dir`, `hydra.sweep.dir`) and a name that would
    leave its folder (`sweep_name`, the task names in the cell's name), with a message naming the key
    instead of Hydra's traceback."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra sets `hydra.mode` before either hook runs; it says which folder the jobs go to.
        job_dir = "hydra.sweep.dir" if config.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
        try:
            check_folder_name(config.get("sweep_name"), "sweep_name")
            for slot in ("intermediate", "target"):
                check_folder_name((config.get(slot) or {}).get("name"), f"{slot}.name")
            check_writable(Path(config.paths.output_dir), "paths.output_dir")
            check_writable(Path(OmegaConf.select(config, job_dir)), job_dir)
        except ConfigError as err:
            log.error("%s", err)
            raise SystemExit(2) from err

    on_multirun_start = on_run_start  # the same check for a sweep
