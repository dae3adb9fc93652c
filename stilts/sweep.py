"""Sweep bookkeeping: the done / failed / skipped summary printed when a multirun ends."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("stilts")


def summarize(sweep_dir: Path, started: float) -> dict[str, list[str]]:
    """Cells of a sweep folder by outcome; `skipped` are those finished before `started`."""
    outcome: dict[str, list[str]] = {"done": [], "skipped": [], "failed": [], "unfinished": []}
    for cell in sorted(p for p in sweep_dir.iterdir() if p.is_dir()) if sweep_dir.is_dir() else []:
        path = cell / "result.json"
        if not path.is_file():
            if (cell / "cell.json").is_file():
                outcome["unfinished"].append(cell.name)
            continue
        result = json.loads(path.read_text())
        if result.get("status") == "failed":
            outcome["failed"].append(f"{cell.name}: {result.get('error')}")
        elif path.stat().st_mtime < started:
            outcome["skipped"].append(cell.name)
        else:
            outcome["done"].append(cell.name)
    return outcome


class SweepSummary(Callback):
    """Logs, at the end of a multirun, how many cells finished, were skipped or failed."""

    def __init__(self) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        outcome = summarize(Path(config.hydra.sweep.dir), self.started)
        log.info(
            "sweep %s: %d done, %d skipped (finished earlier), %d failed, %d unfinished",
            config.hydra.sweep.dir,
            len(outcome["done"]),
            len(outcome["skipped"]),
            len(outcome["failed"]),
            len(outcome["unfinished"]),
        )
        for line in outcome["failed"]:
            log.error("failed: %s", line)
        (Path(config.hydra.sweep.dir) / "summary.json").write_text(json.dumps(outcome, indent=2))
