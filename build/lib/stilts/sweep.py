"""Sweep bookkeeping: the done / skipped / failed / unfinished summary written when a multirun ends.

The summary covers the cells of *this* launch only: Hydra writes each job's `.hydra/` record into
its run dir when the job starts, so a run dir whose `.hydra/` is older than the launch belongs to an
earlier one (e.g. the cells a narrowed relaunch left out) and is not counted.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from stilts.errors import ConfigError
from stilts.runs import RESULT, SUPERSEDED, check_writable, read_record, write_atomic

log = logging.getLogger("stilts")
OUTCOMES = ("done", "skipped", "failed", "unfinished")


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
        result = read_record(cell / RESULT)
        if result is None:
            outcome["unfinished"].append(cell.name)
        elif result.get("status") == "failed":
            outcome["failed"].append(f"{cell.name}: {result.get('error')}")
        elif (cell / RESULT).stat().st_mtime < started:
            outcome["skipped"].append(cell.name)
        else:
            outcome["done"].append(cell.name)
    return outcome


class SweepSummary(Callback):
    """Logs, at the end of a multirun, how many cells of the launch finished, were skipped or failed,
    and writes the same to `<sweep dir>/summary.json`."""

    def __init__(self) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # One second of slack: file systems with coarse timestamps may date a job's files earlier.
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


class OutputFolderCheck(Callback):
    """Refuses, before Hydra creates any run dir, an output folder stilts cannot write to (a file, a
    read-only folder), with a message naming `paths.output_dir` instead of Hydra's traceback."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    @staticmethod
    def _check(config: DictConfig) -> None:
        try:
            check_writable(Path(config.paths.output_dir), "paths.output_dir")
        except ConfigError as err:
            log.error("%s", err)
            raise SystemExit(2) from err
