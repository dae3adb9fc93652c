"""Callbacks stilts always adds to a stage's trainer (configurable ones: conf/callbacks/)."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from omegaconf import DictConfig


def _numpy_state_to_plain(state: tuple) -> tuple:
    kind, keys, position, has_gauss, cached = state
    return kind, torch.from_numpy(keys.copy()), int(position), int(has_gauss), float(cached)


class ExactResume(L.Callback):
    """Makes a run resumed from a mid-epoch checkpoint continue exactly where it stopped.

    Lightning restores the model, optimizer, scheduler, loop counters and callback states; this
    callback adds the RNG states (so dropout masks continue as they would have) and makes the
    length-grouped sampler skip the batches of the interrupted epoch that were already trained on
    (the sampler's order depends only on seed and epoch, so the remaining batches are the same).
    """

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint["stilts_rng"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            # Tensors and plain values only, so the checkpoint loads with torch.load(weights_only=True).
            "numpy": _numpy_state_to_plain(np.random.get_state()),
            "python": random.getstate(),
        }

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self._rng = checkpoint.get("stilts_rng")

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rng, self._rng = getattr(self, "_rng", None), None
        if rng is None:
            return
        torch.set_rng_state(rng["torch"])
        if rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])
        kind, keys, position, has_gauss, cached = rng["numpy"]
        np.random.set_state((kind, keys.numpy(), position, has_gauss, cached))
        random.setstate(rng["python"])
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        sampler = getattr(trainer.train_dataloader, "batch_sampler", None)
        # A checkpoint taken at the end of an epoch resumes at the start of the next: nothing to skip.
        if 0 < done < trainer.num_training_batches and hasattr(sampler, "skip_batches"):
            sampler.skip_batches(done)


def progress_bars(trainer_cfg: DictConfig) -> list[L.Callback]:
    """The progress bar of a stage's trainer: tqdm, redrawn every `log_every_n_steps` steps (when the
    module logs its loss), or none when `trainer.enable_progress_bar` is false. Lightning's own
    default where `rich` is installed, RichProgressBar, reads and converts every logged metric at every
    step whatever its refresh rate: a measurable share of a small model's step (BENCHMARKS.md)."""
    if not trainer_cfg.get("enable_progress_bar", True):
        return []
    return [TQDMProgressBar(refresh_rate=int(trainer_cfg.get("log_every_n_steps", 50)))]


class NonFiniteLoss(L.Callback):
    """Counts training steps whose loss was NaN or infinite; the result flags such runs.

    The count stays on the loss's device during training (reading it every step would make the CPU
    wait for the GPU) and is read once, through `count`.
    """

    def __init__(self) -> None:
        self._count: torch.Tensor | int = 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None:
            # x - x is 0 for a finite x and NaN for NaN or +-inf: two small ops a step.
            self._count = (loss.detach() - loss.detach()).ne(0).add(self._count)

    @property
    def count(self) -> int:
        return int(self._count)

    def state_dict(self) -> dict[str, int]:
        return {"count": self.count}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self._count = state_dict["count"]


class ValidationCounter(L.Callback):
    """Counts the validations of `fit` (not the sanity check, not the final scoring on the full dev
    set) and the step of each, for the result record; kept in checkpoints, so a resumed run counts on."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking:
            self.steps.append(int(trainer.global_step))

    @property
    def count(self) -> int:
        return len(self.steps)

    def state_dict(self) -> dict[str, list[int]]:
        return {"steps": list(self.steps)}

    def load_state_dict(self, state_dict: dict[str, list[int]]) -> None:
        self.steps = list(state_dict["steps"])


class BestAndLatestCheckpoint(ModelCheckpoint):
    """`best.ckpt` at every improvement, and `last.ckpt` the newest state at every validation.

    Lightning's `save_last="link"` links last.ckpt to the newest *top-k* checkpoint, which after a
    validation without improvement is the older best one: a relaunch would then resume from the last
    improvement and recompute the steps since. Here last.ckpt is a link to best.ckpt only when this
    validation wrote best.ckpt (no second copy of the same state), else a file of its own, so a
    relaunch always resumes from the newest validated state (jiant v1 also checkpoints at every
    validation: `jiant/trainer.py`, `_save_checkpoint`). Relies on ModelCheckpoint's
    `_last_checkpoint_saved`, which decides between linking and writing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._best_saved_at_step = -1

    def _update_best_and_save(
        self, current: torch.Tensor, trainer: L.Trainer, monitor_candidates: dict
    ) -> None:
        super()._update_best_and_save(current, trainer, monitor_candidates)
        self._best_saved_at_step = trainer.global_step

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict) -> None:
        if self.save_last == "link" and self._best_saved_at_step != trainer.global_step:
            self._last_checkpoint_saved = ""  # makes Lightning write last.ckpt instead of linking it
        super()._save_last_checkpoint(trainer, monitor_candidates)
