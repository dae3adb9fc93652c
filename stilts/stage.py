"""One training stage: a task's data, the encoder (fresh or from a state dict), a fresh head, fit,
then the best checkpoint (`callbacks=last_state`: the last state) evaluated on the full dev set."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf
from transformers import PreTrainedTokenizerBase

from stilts.callbacks import ExactResume, NonFiniteLoss, ValidationCounter, progress_bars
from stilts.cell import Cell, StageSettings
from stilts.checkpoints import load_checkpoint, resume_checkpoint
from stilts.contracts import BindsEncoder, BindsReferences
from stilts.controls import build_control
from stilts.controls.base import ControlContext
from stilts.models.encoder import build_encoder
from stilts.models.module import TransferModule
from stilts.schedule import stage_schedule, trainer_limits
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import TaskSpec

log = logging.getLogger(__name__)


@dataclass
class StageOutcome:
    """What a finished stage hands back to the pipeline."""

    module: TransferModule
    scores: dict[str, float]
    main: float
    majority_baseline: float | None
    predictions: list[dict[str, Any]]
    steps: int
    epochs: int
    validations: int
    train_examples: int
    val_examples: int
    wall_time_s: float
    logger: Logger | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def close_logger(self, summary: dict[str, Any] | None = None, status: str = "success") -> str | None:
        """Finish the stage's logger; W&B runs get `summary` in their run summary and are finished
        (so the next stage starts a run of its own). Returns the W&B run path, if any."""
        logger, self.logger = self.logger, None  # closed once, whatever happens after
        return finish_logger(logger, summary, status)


def finish_logger(
    logger: Logger | None, summary: dict[str, Any] | None = None, status: str = "success"
) -> str | None:
    """Finalize a stage's logger with `status` (`success` or `failed`) and finish its W&B run, if it
    has one, so that a later stage or cell in the same process never logs into it."""
    if not logger:
        return None
    experiment = getattr(logger, "experiment", None)
    run_path = getattr(experiment, "path", None)
    if summary and hasattr(experiment, "summary"):
        experiment.summary.update(summary)
    logger.finalize(status)
    if hasattr(experiment, "finish"):
        experiment.finish(exit_code=0 if status == "success" else 1)
    return run_path if isinstance(run_path, str) else None


def make_datamodule(
    cell: Cell, spec: TaskSpec, tokenizer: PreTrainedTokenizerBase, seed: int
) -> TaskDataModule:
    """The data of a stage of `cell` training `spec`, batched in the order `seed` draws."""
    return TaskDataModule(
        spec,
        tokenizer,
        data_dir=cell.paths.data_dir,
        cache_dir=cell.paths.cache_dir,
        source=cell.inputs.source,
        max_length=cell.inputs.max_length,
        truncation=cell.inputs.truncation,
        seed=seed,
        num_workers=cell.inputs.num_workers,
        length_grouped=cell.inputs.length_grouped,
    )


@dataclass(frozen=True)
class StageContext:
    """The run-time facts of one stage that the logger and callback configs interpolate as
    `${stage.<field>}` (conf/callbacks/, conf/logger/)."""

    role: str
    task: str
    seed: int
    dir: str
    patience: int  # EarlyStopping's: validations without improvement before the stop (stilts.schedule)


def stage_view(cell: Cell, context: StageContext) -> DictConfig:
    """A copy of the cell's composed config with `stage` filled from `context`, to instantiate the
    stage's callbacks and logger from; the cell's own config is never written to."""
    view = OmegaConf.merge(cell.composed, {"stage": dataclasses.asdict(context)})
    assert isinstance(view, DictConfig)
    return view


def transfer_module(
    optim: DictConfig,
    spec: TaskSpec,
    encoder: Any,
    head: Any,
    metrics: dict[str, Any],
    control: Any = None,
    total_steps: int | None = None,
) -> TransferModule:
    """The stage's LightningModule: encoder, head and metrics, with the optimizer, schedule and no-decay
    list of the stage's `optim` node (StageSettings.optim; completed in `configure_optimizers`, the
    schedule over `total_steps` when given)."""
    return TransferModule(
        encoder,
        head,
        metrics,
        spec.main_metric,
        lr=spec.lr,
        optimizer=instantiate(optim.optimizer),
        scheduler=instantiate(optim.scheduler),
        no_decay=list(optim.no_decay),
        control=control,
        total_steps=total_steps,
    )


def ieee_fp32_matmuls() -> None:
    """Make fp32 mean IEEE fp32 on every GPU, as in jiant (torch 1.0/1.1, before TF32 existed).

    On Ampere and newer GPUs torch may run fp32 matmuls in TF32 (10-bit mantissa) once anything in the
    process asks for it (`torch.set_float32_matmul_precision("high")`, as Lightning's own hint
    suggests), and it allows TF32 cuDNN convolutions by default. Each stage pins both off, so
    `trainer.precision=32-true` is full fp32 whatever ran before; under `bf16-mixed` autocast decides
    the matmul dtype and this changes nothing. No effect on a CPU.
    """
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False


def train_stage(
    cell: Cell,
    stage: StageSettings,
    stage_dir: Path,
    tokenizer: PreTrainedTokenizerBase,
    encoder_weights: Path | None = None,
    datamodule: TaskDataModule | None = None,
) -> StageOutcome:
    """Train the `stage` of `cell` from the pretrained encoder, or from `encoder_weights` (loaded
    strictly).

    `datamodule` is the stage's data when the caller has built it already (to fingerprint the data);
    its logger is finished as `failed` when the stage raises, and handed back open otherwise.
    """
    started = time.monotonic()
    role, seed = stage.role, stage.seed
    ieee_fp32_matmuls()
    L.seed_everything(seed, workers=True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    datamodule = datamodule or make_datamodule(cell, stage.spec, tokenizer, seed)
    spec = datamodule.spec  # with its labels when the task derives them from training data
    datamodule.setup("fit")

    encoder = build_encoder(cell.model, dropout=spec.dropout, weights=encoder_weights)
    head = instantiate(
        spec.cfg.head, hidden_size=encoder.config.hidden_size, labels=spec.labels, dropout=spec.dropout
    )
    if isinstance(head, BindsEncoder):  # e.g. the MLM decoder, tied to the input embeddings
        head.bind_encoder(encoder)
    context = ControlContext(cell.model, cell.forgetting, tokenizer, spec.batch_size, seed)
    control = build_control(stage.control, encoder, context)
    datamodule.train_wrapper = control.wrap_train_loader if control is not None else None
    metrics = {name: instantiate(node) for name, node in spec.cfg.metrics.items()}
    for metric in metrics.values():
        # Metrics scored on strings (SQuAD-style F1/EM) look up texts and gold answers by `idx`.
        if isinstance(metric, BindsReferences):
            metric.bind_references(datamodule.featurized("val"))
    schedule = stage_schedule(cell.schedule, spec, len(datamodule.train_dataloader()))
    module = transfer_module(stage.optim, spec, encoder, head, metrics, control, schedule.total_steps)
    module.majority_label = datamodule.majority_label()

    facts = StageContext(role, spec.name, seed, str(stage_dir), schedule.early_stop_patience)
    view = stage_view(cell, facts)
    callbacks = [instantiate(node) for node in (view.callbacks or {}).values() if node is not None]
    non_finite, validations = NonFiniteLoss(), ValidationCounter()
    callbacks += [ExactResume(), non_finite, validations, *progress_bars(cell.trainer)]
    logger = instantiate(view.logger) if view.get("logger") and view.logger.get("_target_") else False
    if logger:
        logger.log_hyperparams(OmegaConf.to_container(view, resolve=True))
    try:
        trainer: L.Trainer = instantiate(
            cell.trainer,
            **trainer_limits(cell.trainer, schedule),
            gradient_clip_val=stage.optim.grad_clip,
            callbacks=callbacks,
            logger=logger,
            default_root_dir=str(stage_dir),
            use_distributed_sampler=False,
        )
        log.info(
            "stage %s (%s): %d examples, schedule %s: %s, validation every %d steps",
            role,
            spec.name,
            datamodule.train_size,
            schedule.style,
            f"{schedule.max_steps} steps ({schedule.max_validations} validations) at most"
            if schedule.max_steps is not None
            else f"{schedule.max_epochs} epochs at most",
            schedule.val_interval,
        )
        scores, main, baseline, best = _fit_and_score(trainer, module, datamodule, stage_dir, role, spec)
    except BaseException:
        finish_logger(logger or None, status="failed")
        raise
    if logger:
        logger.log_metrics(
            {f"final/{k}": v for k, v in {**scores, "main": main}.items()}, step=trainer.global_step
        )
    return StageOutcome(
        module=module,
        scores=scores,
        main=main,
        majority_baseline=baseline,
        predictions=module.predictions,
        steps=trainer.global_step,
        epochs=trainer.current_epoch,
        validations=validations.count,
        train_examples=datamodule.train_size,
        val_examples=len(datamodule.featurized("val")),
        wall_time_s=time.monotonic() - started,
        logger=logger or None,
        extra={
            "best_checkpoint": best,
            "nan_loss": non_finite.count > 0,
            "non_finite_steps": non_finite.count,
        },
    )


def _fit_and_score(
    trainer: L.Trainer,
    module: TransferModule,
    datamodule: TaskDataModule,
    stage_dir: Path,
    role: str,
    spec: TaskSpec,
) -> tuple[dict[str, float], float, float | None, str]:
    """Fit (resuming from the newest sound checkpoint), then score the best checkpoint (or, without a
    monitored checkpoint, the last state) on the full dev set."""
    folder = stage_dir / "checkpoints"
    resume = resume_checkpoint(folder)
    if resume:
        log.info("resuming stage %s (%s) from %s", role, spec.name, resume)
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume) if resume else None, weights_only=True)
    # A checkpoint that monitors the score holds the best state; one without a monitor
    # (`callbacks=last_state`) only serves resuming, and the last state is scored as it stands.
    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint is not None and checkpoint.monitor else ""
    if best:
        module.load_state_dict(load_checkpoint(Path(best), folder)["state_dict"], strict=True)
    datamodule.full_validation = True
    trainer.validate(module, datamodule=datamodule, verbose=False)
    scores = {k.removeprefix("val/"): v for k, v in module.last_scores.items() if k.startswith("val/")}
    main = scores.pop("main")
    return scores, main, module.last_scores.get("baseline/main"), best
