"""(b) and (c): Hugging Face `transformers.Trainer` on the same data, weights and batch size.

The model is `AutoModelForSequenceClassification` built from the same config with the same dropout,
its encoder loaded with the very weights stilts' runner starts from; the data are stilts' own
featurized Arrow rows (same tokenization), collated by `DataCollatorWithPadding`. Trainer settings
are its defaults except what must match (batch size, one epoch, lr, warm-up ratio, clipping, weight
decay, epsilon) and what the timed epoch must leave out (checkpoints, evaluation, reporting).

`Trainer` needs the `accelerate` package; without it these runners report themselves unavailable.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.runners import Measure, Setting, build_module, prepare
from stilts.models.encoder import DROPOUT_ATTRIBUTES


class Unavailable(RuntimeError):
    """A runner that cannot run on this machine (missing package or device); the reason says why."""


def _trainer_classes() -> tuple[Any, Any, Any]:
    if importlib.util.find_spec("accelerate") is None:
        raise Unavailable("transformers.Trainer needs the `accelerate` package, which is not installed")
    from transformers import Trainer, TrainerCallback, TrainingArguments

    return Trainer, TrainerCallback, TrainingArguments


def _version_args(TrainingArguments: Any, grouped: bool, warmup_ratio: float) -> dict[str, Any]:
    """Arguments spelled differently across transformers versions: length grouping
    (`group_by_length` in 4, `train_sampling_strategy` in 5) and the warm-up share (`warmup_ratio`
    in 4, a float `warmup_steps` in 5)."""
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    if "train_sampling_strategy" in names:
        out: dict[str, Any] = {"train_sampling_strategy": "group_by_length" if grouped else "random"}
    else:
        out = {"group_by_length": grouped}
    out["warmup_ratio" if "warmup_ratio" in names else "warmup_steps"] = warmup_ratio
    return out


def run_hf(setting: Setting, grouped: bool) -> dict[str, Any]:
    """One epoch of HF Trainer with default settings (`grouped`: length-grouped sampling)."""
    Trainer, TrainerCallback, TrainingArguments = _trainer_classes()
    from transformers import AutoConfig, AutoModelForSequenceClassification, DataCollatorWithPadding

    cfg, spec, datamodule = prepare(setting)
    measure = Measure("hf_trainer_grouped" if grouped else "hf_trainer")
    features = datamodule.featurized("train")
    keep = ("input_ids", "attention_mask", "token_type_ids", "label", "length")
    features = features.remove_columns([c for c in features.column_names if c not in keep])

    config = AutoConfig.from_pretrained(cfg.model.pretrained, num_labels=len(spec.labels))
    for attr in DROPOUT_ATTRIBUTES:
        if hasattr(config, attr):
            setattr(config, attr, spec.dropout)
    config.classifier_dropout = spec.dropout
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="sdpa")
    encoder = build_module(cfg, spec, setting.seed).encoder  # stilts' initial encoder weights
    getattr(model, model.base_model_prefix).load_state_dict(encoder.state_dict(), strict=True)

    collate = DataCollatorWithPadding(datamodule.tokenizer)

    def counting_collate(examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = collate(examples)
        measure.count(batch)
        return batch

    class EpochTimer(TrainerCallback):  # type: ignore[misc, valid-type]
        def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            measure.epoch_s = time.perf_counter() - self.started

    adamw, schedule = cfg.optim.optimizer, cfg.optim.scheduler  # optim=adamw (benchmarks.runners)
    args = TrainingArguments(
        output_dir=str(Path(setting.work_dir) / measure.runner),
        per_device_train_batch_size=setting.batch_size,
        num_train_epochs=1,
        learning_rate=spec.lr,
        weight_decay=adamw.weight_decay,
        adam_beta1=adamw.betas[0],
        adam_beta2=adamw.betas[1],
        adam_epsilon=adamw.eps,
        max_grad_norm=cfg.optim.grad_clip,
        lr_scheduler_type="linear",
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=setting.seed,
        **_version_args(TrainingArguments, grouped, schedule.warmup_ratio),
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=features.rename_column("label", "labels"),
        data_collator=counting_collate,
        processing_class=datamodule.tokenizer,
        callbacks=[EpochTimer()],
    )
    torch.set_num_threads(setting.threads)  # Trainer's set-up must not change the thread count
    started = time.perf_counter()
    trainer.train()
    measure.total_s = time.perf_counter() - started
    measure.extra["optim"] = str(args.optim)
    return measure.finish()


HF_RUNNERS = {
    "hf_trainer": lambda s: run_hf(s, grouped=False),
    "hf_trainer_grouped": lambda s: run_hf(s, grouped=True),
}
