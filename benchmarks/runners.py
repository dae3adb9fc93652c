"""One timed training epoch per runner: stilts' own path and a hand-written PyTorch loop.

Every runner trains the same encoder (same config, same seed, so the same initial weights) on the same
featurized data with the same batch size and optimisation (AdamW, linear warm-up then decay, gradient
clipping), and reports the epoch's wall time with the tokens its batches really held and computed.
The HF Trainer runners live in `benchmarks.hf`.
"""

from __future__ import annotations

import cProfile
import dataclasses
import logging
import math
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from stilts.config import compose_config
from stilts.identity import task_optim
from stilts.models.encoder import build_encoder, load_tokenizer
from stilts.models.module import TransferModule
from stilts.models.optim import parameter_groups
from stilts.stage import transfer_module
from stilts.tasks.batching import LengthGroupedBatchSampler
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import TaskSpec

log = logging.getLogger(__name__)
# Set by benchmarks.profile_step: a profiler that runs during the timed epoch only.
EPOCH_PROFILER: cProfile.Profile | None = None


def _profile(on: bool) -> None:
    if EPOCH_PROFILER is not None:
        EPOCH_PROFILER.enable() if on else EPOCH_PROFILER.disable()


@dataclass(frozen=True)
class Setting:
    """What every runner shares: data, model, batch size, optimisation, threads."""

    data_dir: str
    cache_dir: str
    work_dir: str
    model: str = "tiny"
    batch_size: int = 32
    max_length: int = 128  # the model's maximum sequence length (tokens beyond it are truncated)
    threads: int = 2
    seed: int = 0
    lr: float = 2e-5
    dropout: float = 0.1


@dataclass
class Measure:
    """One run's figures."""

    runner: str
    examples: int = 0
    steps: int = 0
    real_tokens: int = 0
    computed_tokens: int = 0
    epoch_s: float = 0.0
    total_s: float = 0.0
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self, batch: dict[str, torch.Tensor]) -> None:
        """Add a batch's real (unmasked) and computed (padded) tokens."""
        mask = batch["attention_mask"]
        self.examples += int(mask.shape[0])
        self.steps += 1
        self.real_tokens += int(mask.sum())
        self.computed_tokens += int(mask.numel())

    def finish(self) -> dict[str, Any]:
        self.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = dataclasses.asdict(self)
        out["examples_per_s"] = self.examples / self.epoch_s if self.epoch_s else 0.0
        out["tokens_per_s"] = self.real_tokens / self.epoch_s if self.epoch_s else 0.0
        out["padding_efficiency"] = self.real_tokens / self.computed_tokens if self.computed_tokens else 0.0
        return out


def compose_train_cfg(setting: Setting) -> DictConfig:
    """The pipeline's config for RTE on `setting.model` with the CPU trainer, as `stilts-train` builds it."""
    overrides = [
        f"model={setting.model}",
        f"model.max_length={setting.max_length}",
        "trainer=cpu",
        # The recipe the published figures were measured with (AdamW, every layer's dropout set to
        # the task's); the paper's BertAdam would time the same.
        "optim=adamw",
        "model.dropout_placement=every_layer",
        "task@target=rte",
        f"paths.data_dir={setting.data_dir}",
        f"paths.cache_dir={setting.cache_dir}",
        f"paths.output_dir={setting.work_dir}",
    ]
    return compose_config(overrides)


def prepare(setting: Setting) -> tuple[DictConfig, TaskSpec, TaskDataModule]:
    """Config, task spec (with the benchmark's batch size, lr and dropout) and its data module."""
    torch.set_num_threads(setting.threads)
    cfg = compose_train_cfg(setting)
    spec = TaskSpec.from_config(cfg.target, "target")
    spec = dataclasses.replace(spec, batch_size=setting.batch_size, lr=setting.lr, dropout=setting.dropout)
    datamodule = TaskDataModule(
        spec,
        load_tokenizer(cfg.model),
        data_dir=cfg.paths.data_dir,
        cache_dir=cfg.paths.cache_dir,
        max_length=cfg.model.max_length,
        seed=setting.seed,
        num_workers=cfg.data.num_workers,
    )
    return cfg, spec, datamodule


def build_module(cfg: DictConfig, spec: TaskSpec, seed: int) -> TransferModule:
    """The pipeline's TransferModule: encoder and head initialised from `seed`."""
    torch.manual_seed(seed)
    encoder = build_encoder(cfg.model, dropout=spec.dropout)
    head = instantiate(
        spec.cfg.head, hidden_size=encoder.config.hidden_size, labels=spec.labels, dropout=spec.dropout
    )
    metrics = {name: instantiate(node) for name, node in spec.cfg.metrics.items()}
    return transfer_module(task_optim(cfg.optim, spec.cfg), spec, encoder, head, metrics)


class _Counting:
    """Wraps a collator to count the tokens of every batch it builds."""

    def __init__(self, collate: Callable[[Any], dict[str, torch.Tensor]], measure: Measure) -> None:
        self.collate, self.measure = collate, measure

    def __call__(self, examples: Any) -> dict[str, torch.Tensor]:
        batch = self.collate(examples)
        self.measure.count(batch)
        return batch


class _EpochTimer(L.Callback):
    def __init__(self, measure: Measure) -> None:
        self.measure, self.started = measure, 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started = time.perf_counter()
        _profile(True)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        _profile(False)
        self.measure.epoch_s = time.perf_counter() - self.started


def always_added_callbacks(trainer_cfg: DictConfig) -> list[L.Callback]:
    """The callbacks the pipeline adds to every stage's trainer besides the configured ones (the
    per-stage counters aside, which act only at validations)."""
    from stilts.callbacks import ExactResume, NonFiniteLoss, progress_bars

    return [ExactResume(), NonFiniteLoss(), *progress_bars(trainer_cfg)]


def run_stilts(setting: Setting) -> dict[str, Any]:
    """(a) stilts: TaskDataModule + TransferModule + a Lightning Trainer as trainer=cpu makes it,
    with the pipeline's CSV logger; one epoch without validation or checkpoints."""
    cfg, spec, datamodule = prepare(setting)
    measure = Measure("stilts")
    L.seed_everything(setting.seed, workers=True)
    datamodule.setup("fit")
    module = build_module(cfg, spec, setting.seed)
    make_collator = datamodule.featurizer.collator
    datamodule.featurizer.collator = lambda pad_id: _Counting(make_collator(pad_id), measure)  # type: ignore[method-assign]
    logger = L.pytorch.loggers.CSVLogger(setting.work_dir, name="logs", version="")
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        max_epochs=1,
        limit_val_batches=0,
        gradient_clip_val=cfg.optim.grad_clip,
        callbacks=[_EpochTimer(measure), *always_added_callbacks(cfg.trainer)],
        logger=logger,
        enable_checkpointing=False,
        default_root_dir=setting.work_dir,
        use_distributed_sampler=False,
    )
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    measure.total_s = time.perf_counter() - started
    return measure.finish()


def _padded(rows: list[np.ndarray], value: int) -> torch.Tensor:
    out = np.full((len(rows), max(len(r) for r in rows)), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return torch.from_numpy(out)


def _raw_batches(
    ids: list[np.ndarray], labels: np.ndarray, batches: list[np.ndarray], pad_id: int
) -> Iterator[dict[str, torch.Tensor]]:
    for batch in batches:
        rows = [ids[i] for i in batch]
        input_ids = _padded(rows, pad_id)
        yield {
            "input_ids": input_ids,
            "attention_mask": _padded([np.ones_like(r) for r in rows], 0),
            "label": torch.from_numpy(labels[batch]),
        }


def run_raw(setting: Setting, grouped: bool = True) -> dict[str, Any]:
    """(d) A hand-written loop over the same features held in memory: length-grouped (or random)
    batches padded to their longest, AdamW, linear warm-up then decay, gradient clipping."""
    cfg, spec, datamodule = prepare(setting)
    measure = Measure("raw_grouped" if grouped else "raw_random")
    train = datamodule.featurized("train").with_format("numpy", columns=["input_ids", "label"])
    ids = list(train["input_ids"])
    labels = np.asarray(train["label"], dtype=np.int64)
    lengths = np.array([len(x) for x in ids])
    module = build_module(cfg, spec, setting.seed)
    module.train()
    # The optimizer and schedule of the `optim` config, as TransferModule.configure_optimizers builds
    # them, so only the framework differs.
    optimizer = instantiate(cfg.optim.optimizer)(parameter_groups(module, cfg.optim.no_decay), lr=spec.lr)
    total = math.ceil(len(ids) / setting.batch_size)
    schedule = instantiate(cfg.optim.scheduler)(optimizer, total)
    if grouped:
        # The batches of stilts' sampler (plain numpy, no framework): sorted by length within chunks of
        # 50 batches, then shuffled. Both runners therefore compute exactly the same tokens.
        sampler = LengthGroupedBatchSampler(lengths, setting.batch_size, shuffle=True, seed=setting.seed)
        batches = [np.asarray(batch) for batch in sampler]
    else:
        order = np.random.default_rng(setting.seed).permutation(len(ids))
        batches = [order[i : i + setting.batch_size] for i in range(0, len(order), setting.batch_size)]
    started = time.perf_counter()
    _profile(True)
    for batch in _raw_batches(ids, labels, batches, datamodule.tokenizer.pad_token_id):
        measure.count(batch)
        loss = module.head.loss(module(batch), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.optim.grad_clip)
        optimizer.step()
        schedule.step()
    _profile(False)
    measure.epoch_s = measure.total_s = time.perf_counter() - started
    return measure.finish()


RUNNERS: dict[str, Callable[[Setting], dict[str, Any]]] = {
    "stilts": run_stilts,
    "raw_grouped": lambda s: run_raw(s, grouped=True),
    "raw_random": lambda s: run_raw(s, grouped=False),
}
