"""One training stage: a task's data, the encoder (fresh or from a state dict), a fresh head, fit,
then the best checkpoint evaluated on the full dev set."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf, open_dict
from transformers import PreTrainedTokenizerBase

from stilts.callbacks import ExactResume, NonFiniteLoss
from stilts.models.encoder import build_encoder
from stilts.models.module import TransferModule
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
    train_examples: int
    val_examples: int
    wall_time_s: float
    logger: Logger | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def close_logger(self, summary: dict[str, Any] | None = None) -> str | None:
        """Finish the stage's logger; W&B runs get `summary` in their run summary and are finished
        (so the next stage starts a run of its own). Returns the W&B run path, if any."""
        if not self.logger:
            return None
        experiment = getattr(self.logger, "experiment", None)
        run_path = getattr(experiment, "path", None)
        if summary and hasattr(experiment, "summary"):
            experiment.summary.update(summary)
        self.logger.finalize("success")
        if hasattr(experiment, "finish"):
            experiment.finish()
        return run_path if isinstance(run_path, str) else None


def make_datamodule(
    cfg: DictConfig, spec: TaskSpec, tokenizer: PreTrainedTokenizerBase, seed: int
) -> TaskDataModule:
    return TaskDataModule(
        spec,
        tokenizer,
        data_dir=cfg.paths.data_dir,
        cache_dir=cfg.paths.cache_dir,
        source=cfg.data.source,
        max_length=cfg.model.max_length,
        seed=seed,
        num_workers=cfg.data.num_workers,
    )


def _set_stage_node(cfg: DictConfig, spec: TaskSpec, role: str, stage_dir: Path) -> None:
    """Fill `cfg.stage`, which the logger and callback configs interpolate."""
    with open_dict(cfg):
        cfg.stage = {"role": role, "task": spec.name, "dir": str(stage_dir), "patience": spec.patience}


def train_stage(
    cfg: DictConfig,
    spec: TaskSpec,
    role: str,
    seed: int,
    stage_dir: Path,
    tokenizer: PreTrainedTokenizerBase,
    encoder_weights: Path | None = None,
) -> StageOutcome:
    """Train `spec` from the pretrained encoder, or from `encoder_weights` (loaded strictly)."""
    started = time.monotonic()
    L.seed_everything(seed, workers=True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    datamodule = make_datamodule(cfg, spec, tokenizer, seed)
    spec = datamodule.spec  # with its labels when the task derives them from training data
    datamodule.setup("fit")

    encoder = build_encoder(cfg.model, dropout=spec.dropout, weights=encoder_weights)
    head = instantiate(
        spec.cfg.head, hidden_size=encoder.config.hidden_size, labels=spec.labels, dropout=spec.dropout
    )
    if hasattr(head, "bind_encoder"):  # e.g. the MLM decoder, tied to the input embeddings
        head.bind_encoder(encoder)
    metrics = {name: instantiate(node) for name, node in spec.cfg.metrics.items()}
    for metric in metrics.values():
        # Metrics scored on strings (SQuAD-style F1/EM) look up texts and gold answers by `idx`.
        if hasattr(metric, "bind_references"):
            metric.bind_references(datamodule.featurized("val"))
    module = TransferModule(
        encoder,
        head,
        metrics,
        spec.main_metric,
        lr=spec.lr,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler),
        no_decay=list(cfg.optim.no_decay),
    )
    module.majority_label = datamodule.majority_label()

    max_epochs = spec.max_epochs  # 10, or 40 for COPA, CB and WSC (conf/task/_defaults.yaml)
    steps_per_epoch = len(datamodule.train_dataloader())
    # Validate at the task's interval, but at least once an epoch so small data still gets checked.
    val_interval = max(1, min(spec.val_interval, steps_per_epoch))
    _set_stage_node(cfg, spec, role, stage_dir)
    callbacks = [instantiate(node) for node in (cfg.callbacks or {}).values() if node is not None]
    non_finite = NonFiniteLoss()
    callbacks += [ExactResume(), non_finite]
    logger = instantiate(cfg.logger) if cfg.get("logger") and cfg.logger.get("_target_") else False
    if logger:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        max_epochs=max_epochs,
        val_check_interval=val_interval,
        check_val_every_n_epoch=None,
        gradient_clip_val=cfg.optim.grad_clip,
        callbacks=callbacks,
        logger=logger,
        default_root_dir=str(stage_dir),
        use_distributed_sampler=False,
    )
    log.info(
        "stage %s (%s): %d examples, %d epochs max, validation every %d steps",
        role,
        spec.name,
        datamodule.train_size,
        max_epochs,
        val_interval,
    )
    resume = resume_checkpoint(stage_dir / "checkpoints")
    if resume:
        log.info("resuming stage %s (%s) from %s", role, spec.name, resume)
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume) if resume else None)

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        module.load_state_dict(state, strict=True)
    datamodule.full_validation = True
    trainer.validate(module, datamodule=datamodule, verbose=False)
    scores = {k.removeprefix("val/"): v for k, v in module.last_scores.items() if k.startswith("val/")}
    main = scores.pop("main")
    baseline = module.last_scores.get("baseline/main")
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


def resume_checkpoint(folder: Path) -> Path | None:
    """The checkpoint an interrupted stage resumes from: `last.ckpt`, a link to the newest checkpoint
    written (see conf/callbacks/default.yaml). A process killed after a new best checkpoint was written
    but before the link was moved to it leaves the link dangling: then the newest checkpoint file.
    Checkpoint files are complete or absent (Lightning writes them to a temporary file, then renames)."""
    last = folder / "last.ckpt"
    if last.is_file():
        return last
    written = [path for path in folder.glob("*.ckpt") if path.is_file()]
    return max(written, key=lambda path: path.stat().st_mtime_ns) if written else None
