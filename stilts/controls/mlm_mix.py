"""MLM mixing: masked-LM batches on a text source interleaved with the task's batches, one encoder.

The paper's conclusion (Pruksachatkun et al., ACL 2020, section 7) proposes "integrating the MLM
objective into intermediate-task training" against forgetting; this is that, in the style of
multi-task mixing: a fixed share `ratio` of the stage's batches are masked-LM batches, scored by an
MLM head tied to the encoder's input embeddings (initialised from the pretrained MLM head when there
is one). An epoch is still one pass over the task's data; the MLM batches come on top. An interrupted
stage resumes from its last checkpoint at the start of that epoch (stilts.callbacks.ExactResume skips
already-trained batches only for the task's own sampler). Under DDP every rank draws the same MLM
batches (the text is not sharded), so the MLM share of the data seen is smaller than on one device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import DataLoader

from stilts.controls.base import Control, ControlContext
from stilts.errors import ConfigError
from stilts.forgetting.readout import NoMLMHead, readout_from_masked_lm
from stilts.forgetting.sample import read_sample
from stilts.forgetting.settings import head_source
from stilts.models.mlm_head import MaskedLMHead
from stilts.tasks.masked_lm import MaskingCollator, masking_ids

MARK = "mlm_mix"  # key that marks the control's own batches


def is_mlm_position(k: int, ratio: Fraction) -> bool:
    """Whether batch number k (0-based) of the mixed stream is a masked-LM batch: ceil(K * ratio) of
    any first K batches are, spread evenly, each period starting with its MLM batches (so a stream of
    whole periods has exactly the share `ratio`)."""
    return math.ceil((k + 1) * ratio) > math.ceil(k * ratio)


class MixedBatches:
    """The task's batches with masked-LM batches interleaved at `ratio`; ends with the task's last."""

    def __init__(self, task: Iterable, mlm: Iterable, ratio: Fraction) -> None:
        self.task, self.mlm, self.ratio = task, mlm, ratio

    def __len__(self) -> int:
        remaining, k = len(self.task), 0  # type: ignore[arg-type]
        while remaining:
            remaining -= not is_mlm_position(k, self.ratio)
            k += 1
        return k

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        mlm = _endless(self.mlm)
        k = 0
        for batch in self.task:
            while is_mlm_position(k, self.ratio):
                yield {**next(mlm), MARK: torch.ones(1)}
                k += 1
            yield batch
            k += 1


def _endless(loader: Iterable) -> Iterator[dict[str, torch.Tensor]]:
    """The loader over and over (each pass a new shuffle and new masks)."""
    while True:
        yield from loader


class MLMMix(Control):
    """Args:
    encoder: the shared encoder (the MLM decoder is tied to its input embeddings).
    context: the cell config, tokenizer, the stage's batch size and seed.
    ratio: share of all training batches that are masked-LM batches, in [0, 1).
    text: plain-text file of the MLM batches (pre-training-like text, not the forgetting sample).
    mask_probability: share of tokens chosen for prediction (80/10/10 as in BERT).
    batch_size: lines per MLM batch (null: the task's batch size).
    """

    def __init__(
        self,
        encoder: nn.Module,
        context: ControlContext,
        ratio: float = 0.25,
        text: str | None = None,
        mask_probability: float = 0.15,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= ratio < 1:
            raise ConfigError(f"`control.ratio` is {ratio}; it must be in [0, 1) (a share of all batches)")
        if text is None:
            raise ConfigError(
                "`control=mlm_mix` needs `control.text`, a plain-text file (one sentence a line)"
            )
        self.ratio = Fraction(ratio).limit_denominator(1000)
        self.head = MaskedLMHead(encoder.config.hidden_size, [], dropout=0.1)
        self.head.bind_encoder(encoder)
        _init_from_pretrained_head(self.head, context)
        self.loader = _mlm_loader(Path(text), context, mask_probability, batch_size or context.batch_size)

    def owns(self, batch: dict[str, torch.Tensor]) -> bool:
        return MARK in batch

    def batch_loss(self, encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        return self.head.loss(self.head(hidden, batch), batch)

    def wrap_train_loader(self, loader: Iterable) -> MixedBatches:
        return MixedBatches(loader, self.loader, self.ratio)


def _mlm_loader(text: Path, context: ControlContext, probability: float, batch_size: int) -> DataLoader:
    tokenizer = context.tokenizer
    encoded = tokenizer(read_sample(text, 10**9), truncation=True, max_length=int(context.model.max_length))
    examples = [
        {"input_ids": i, "attention_mask": m}
        for i, m in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
    ]
    ids = masking_ids(tokenizer)
    return DataLoader(
        examples,
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(context.seed),
        collate_fn=MaskingCollator(ids, len(tokenizer), probability, context.seed),
    )


def _init_from_pretrained_head(head: MaskedLMHead, context: ControlContext) -> None:
    """Start the MLM head from the pretrained one (a fresh head would first pull the encoder towards
    itself); left fresh when the model has none."""
    source = head_source(context.forgetting, context.model)
    if source is None:
        return
    if source == "hub":
        try:
            readout = readout_from_masked_lm(context.model)
        except NoMLMHead:
            return
        state = {**{f"dense.{k}": v for k, v in readout.dense.state_dict().items()}}
        state.update({f"norm.{k}": v for k, v in readout.norm.state_dict().items()}, bias=readout.bias)
    else:
        state = load_file(source)
    with torch.no_grad():
        for name, value in state.items():
            dict(head.named_parameters())[name].copy_(value)
