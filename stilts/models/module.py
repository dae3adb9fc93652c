"""TransferModule: the shared encoder plus one task head; the optimizer and schedule come from the
`optim` config (stilts.models.optim)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics import Metric, MetricCollection

from stilts.controls.base import Control
from stilts.models.heads import Head
from stilts.models.optim import ParamGroups, parameter_groups

# Inputs the encoder takes; every other batch column belongs to the head.
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class TransferModule(L.LightningModule):
    """Encoder + head, generic over heads.

    Args:
        encoder: a transformers encoder returning `last_hidden_state`.
        head: a `Head`.
        metrics: metric name -> torchmetrics metric (updated with the head's `predict` output).
        main_metric: names of the metrics whose mean is the task's score (`val/main`).
        lr: the task's learning rate.
        optimizer: the `optim.optimizer` config instantiated as a partial: called with the
            parameter groups and `lr=`.
        scheduler: the `optim.scheduler` partial: called with the optimizer and the number of
            training steps; stepped every step.
        no_decay: parameter-name endings exempt from weight decay (`optim.no_decay`).
        control: a control against forgetting (stilts.controls), or None.
        total_steps: the steps the LR schedule spans (jiant's `t_total`, stilts.schedule), or None for
            Lightning's estimate of the run's steps.
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: Head,
        metrics: dict[str, Metric],
        main_metric: Sequence[str],
        lr: float,
        optimizer: Callable[..., Optimizer],
        scheduler: Callable[[Optimizer, int], LRScheduler],
        no_decay: Sequence[str],
        control: Control | None = None,
        total_steps: int | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        # compute_groups=False: no metric shares state with another. torchmetrics' default merges
        # metrics whose states are equal after the first update, which is safe only for states of raw
        # inputs (e.g. ReCoRD's per-candidate scores, edge probing's confusion counts); SpanQAScore f1
        # and em keep already-scored totals under the same names, so a first batch with F1 = EM made F1
        # report EM for the rest of the validation (issue 24). Updating each metric on its own costs
        # little next to the forward pass.
        self.val_metrics = MetricCollection(dict(metrics), prefix="val/", compute_groups=False)
        self.baseline_metrics = self.val_metrics.clone(prefix="baseline/")
        self.main_metric = tuple(main_metric)
        self.lr = lr
        self.make_optimizer = optimizer
        self.make_scheduler = scheduler
        self.no_decay = tuple(no_decay)
        self.control = control
        self.total_steps = total_steps
        self.majority_label: int | None = None
        self.predictions: list[dict[str, Any]] = []
        self._baseline_updated = False
        self.last_scores: dict[str, float] = {}

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: batch[k] for k in ENCODER_INPUTS if k in batch}
        hidden = self.encoder(**inputs).last_hidden_state
        return self.head(hidden, batch)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        control = self.control
        if control is not None and control.owns(batch):  # e.g. an MLM batch under mlm_mix
            loss = control.batch_loss(self.encoder, batch)
        else:
            loss = self.head.loss(self(batch), batch)
        penalty = control.penalty(self.encoder) if control is not None else None
        if penalty is not None:
            loss = loss + penalty
        # Log only on the steps whose logs are written (as Lightning's LearningRateMonitor does): a
        # `self.log` call costs about as much as a tiny model's step, and the progress bar reading a
        # logged GPU tensor makes the host wait for the GPU every step.
        trainer = self._trainer
        if trainer is None or trainer._logger_connector.should_update_logs:
            self.log("train/loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
            if trainer is not None and trainer.optimizers:  # the learning rate of the schedule
                self.log("train/lr", trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        # stilts' collators make flat dicts of tensors: move them directly instead of through
        # Lightning's generic collection walk (about a tenth of a millisecond a step, BENCHMARKS.md).
        if isinstance(batch, dict) and all(isinstance(v, torch.Tensor) for v in batch.values()):
            non_blocking = device.type == "cuda"  # pinned batches copy asynchronously, as Lightning does
            return {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()}
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_validation_epoch_start(self) -> None:
        self.predictions = []
        self._baseline_updated = False

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self(batch)
        outputs = self.head.predict(logits, batch)
        self.val_metrics.update(**outputs)
        if self.majority_label is not None:
            baseline = self.head.baseline_predict(batch, self.majority_label)
            if baseline is not None:
                self.baseline_metrics.update(**baseline)
                self._baseline_updated = True
        # One prediction row per example, or per target when the head returns its own `idx`
        # (e.g. edge probing: several targets per sentence).
        rows = {k: v.detach().cpu().tolist() for k, v in outputs.items()}
        rows.setdefault("idx", batch["idx"].cpu().tolist())
        self.predictions += [
            dict(zip(rows, values, strict=True)) for values in zip(*rows.values(), strict=True)
        ]

    def on_validation_epoch_end(self) -> None:
        if self.trainer.world_size > 1:  # every rank scored a shard of the dev set: gather the rows
            shards: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(shards, self.predictions)
            self.predictions = [row for shard in shards for row in shard]
        scores = {k: float(v) for k, v in self.val_metrics.compute().items()}
        scores["val/main"] = sum(scores[f"val/{m}"] for m in self.main_metric) / len(self.main_metric)
        if self._baseline_updated:
            base = {k: float(v) for k, v in self.baseline_metrics.compute().items()}
            scores["baseline/main"] = sum(base[f"baseline/{m}"] for m in self.main_metric) / len(
                self.main_metric
            )
        self.log_dict({k: v for k, v in scores.items() if k != "val/main"})
        self.log("val/main", scores["val/main"], prog_bar=True)
        self.last_scores = scores
        self.val_metrics.reset()
        self.baseline_metrics.reset()

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        # Lightning's mixed-precision plugin refuses to clip gradients for an optimizer that unscales them
        # inside its own step (fused AdamW), in bf16 too, where nothing is scaled. Clip them here, after
        # unscaling fp16 gradients explicitly (the optimizer's step then sees them unscaled).
        mixed = self.trainer.precision in ("bf16-mixed", "16-mixed")
        fused = getattr(optimizer, "_step_supports_amp_scaling", False)
        if gradient_clip_val and mixed and fused and gradient_clip_algorithm in (None, "norm"):
            scaler = getattr(self.trainer.precision_plugin, "scaler", None)
            if scaler is not None:
                scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, gradient_clip_val)
            return
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def configure_optimizers(self) -> dict[str, Any]:
        groups: ParamGroups = parameter_groups(self, self.no_decay)
        optimizer = self.make_optimizer(groups, lr=self.lr)
        total = self.total_steps or max(1, int(self.trainer.estimated_stepping_batches))
        scheduler = self.make_scheduler(optimizer, total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
