"""How long a stage trains and when it validates: jiant's validation schedule (the paper's) or epochs.

`schedule=jiant` (conf/schedule/jiant.yaml, the default) follows jiant v1's trainer
(jiant/trainer.py, `SamplingMultiTaskTrainer.train` and `_check_stop`):

- it validates only every `val_interval` training steps (trainer.py:654, `n_step % validation_interval`),
  across epoch boundaries (the batch stream repeats without end, trainer.py:331);
- it checks the epoch limit only at a validation (trainer.py:1012-1024), so a run overshoots to the
  next validation after `max_epochs` epochs: with n batches an epoch it stops after
  min(ceil(n * max_epochs / val_interval), max_vals) validations (trainer.py:1036-1040 `max_vals`);
  with no epoch limit (edge probing: base_edgeprobe.conf leaves defaults.conf's `max_epochs = -1`)
  after `max_vals` validations;
- the learning-rate schedule's `t_total` is that number of validations x `val_interval`
  (trainer.py:501-514), which is also the run's last step;
- early stopping ends a run at the (patience + 1)-th validation without improvement: `_check_history`
  (trainer.py:253-274) uses `patience + 1` and stops when the best is `patience + 1` validations old.
  Lightning's `EarlyStopping` stops after `patience` non-improving validations, so it gets patience + 1.

`schedule=epochs` is stilts' earlier schedule (the demo's): `max_epochs` epochs, validation every
`val_interval` steps but at least once an epoch, `patience` non-improving validations, and the
optimizer's schedule over Lightning's estimate of the steps. A task without an epoch limit (edge
probing) stops after `max_vals` validations there too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from stilts.errors import ConfigError
from stilts.schema import SCHEDULE_STYLES
from stilts.tasks.spec import TaskSpec


@dataclass(frozen=True)
class StageSchedule:
    """A stage's run length and validations, as the Lightning Trainer and the LR schedule take them.

    Attributes:
        style: `jiant` or `epochs`.
        val_interval: training steps between validations.
        max_steps: the last step (jiant: validations x val_interval), or None (epochs).
        max_epochs: the Trainer's epoch limit, or None (jiant: the limit acts through max_steps).
        max_validations: validations the run reaches unless it stops early (None: unknown, epochs).
        total_steps: `t_total` of the learning-rate schedule (None: Lightning's estimate).
        early_stop_patience: Lightning `EarlyStopping` patience (non-improving validations).
    """

    style: str
    val_interval: int
    max_steps: int | None
    max_epochs: int | None
    max_validations: int | None
    total_steps: int | None
    early_stop_patience: int


def jiant_validations(steps_per_epoch: int, max_epochs: int | None, val_interval: int, max_vals: int) -> int:
    """The number of validations jiant runs before its epoch or validation limit stops it
    (jiant/trainer.py:505-510): the first validation at or after `max_epochs` epochs, at most `max_vals`."""
    if max_epochs is None:
        return max_vals
    return min(math.ceil(steps_per_epoch * max_epochs / val_interval), max_vals)


def stage_schedule(style: str, spec: TaskSpec, steps_per_epoch: int) -> StageSchedule:
    """The schedule of a stage training `spec` for `steps_per_epoch` batches an epoch."""
    if style == "jiant":
        validations = jiant_validations(steps_per_epoch, spec.max_epochs, spec.val_interval, spec.max_vals)
        steps = validations * spec.val_interval
        return StageSchedule(
            style=style,
            val_interval=spec.val_interval,
            max_steps=steps,
            max_epochs=None,
            max_validations=validations,
            total_steps=steps,
            early_stop_patience=spec.patience + 1,
        )
    if style == "epochs":
        # Validate at the task's interval, but at least once an epoch so small data still gets checked.
        interval = max(1, min(spec.val_interval, steps_per_epoch))
        # A task without an epoch limit (edge probing) stops after `max_vals` validations, as in jiant.
        steps = None if spec.max_epochs is not None else spec.max_vals * interval
        return StageSchedule(
            style=style,
            val_interval=interval,
            max_steps=steps,
            max_epochs=spec.max_epochs,
            max_validations=None if steps is None else spec.max_vals,
            total_steps=steps,
            early_stop_patience=spec.patience,
        )
    raise ConfigError(f"`schedule.style` is {style!r}; use one of {', '.join(SCHEDULE_STYLES)}")


def schedule_style(node: DictConfig | None) -> str:
    """`style` of the run's `schedule` node (conf/schedule/), the paper's `jiant` when unset."""
    return str((node or {}).get("style", "jiant"))


def trainer_limits(trainer: DictConfig, schedule: StageSchedule) -> dict[str, Any]:
    """The Trainer arguments that carry the stage's schedule. A `max_steps` of the run's `trainer` node
    (e.g. `debug=limit`) still caps a jiant-style run; the LR schedule keeps jiant's `t_total`."""
    limits: dict[str, Any] = {"val_check_interval": schedule.val_interval, "check_val_every_n_epoch": None}
    if schedule.max_steps is None:
        return {**limits, "max_epochs": schedule.max_epochs}
    cap = trainer.get("max_steps")
    steps = schedule.max_steps if cap is None or cap < 0 else min(schedule.max_steps, int(cap))
    # No epoch limit of Lightning's: jiant's acts at validations, through max_steps.
    return {**limits, "max_epochs": -1, "max_steps": steps}
