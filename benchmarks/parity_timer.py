"""A Lightning callback that times a stage's training steps, for the parity benchmark's stilts side.

Added to a `stilts-train` run as `+callbacks.train_timer._target_=benchmarks.parity_timer.TrainTimer`
with `+callbacks.train_timer.path=${stage.dir}/train_time.json`. It counts each training epoch from
its start to its end, less the validations (and the checkpoint writes after them) inside it: the span
from a validation's start to the next training batch or the epoch's end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L


class TrainTimer(L.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.epochs: list[float] = []
        self.cpu_s = 0.0  # the process' CPU time over the same spans
        self._started = self._cpu_started = 0.0
        self._paused_at: tuple[float, float] | None = None  # wall and CPU clock at the pause
        self._paused = self._cpu_paused = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started, self._cpu_started = time.perf_counter(), time.process_time()
        self._paused = self._cpu_paused = 0.0
        self._paused_at = None

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._paused_at = time.perf_counter(), time.process_time()

    def _resume(self) -> None:
        if self._paused_at is not None:
            self._paused += time.perf_counter() - self._paused_at[0]
            self._cpu_paused += time.process_time() - self._paused_at[1]
            self._paused_at = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        self._resume()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._resume()
        self.epochs.append(time.perf_counter() - self._started - self._paused)
        self.cpu_s += time.process_time() - self._cpu_started - self._cpu_paused

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            json.dumps({"epoch_s": self.epochs, "train_s": sum(self.epochs), "cpu_s": self.cpu_s})
        )
