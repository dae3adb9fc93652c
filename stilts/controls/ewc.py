"""EWC: a pull towards the pretrained weights, weighted by how much each weight matters to masked-LM.

Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017: the penalty
lambda / 2 * sum_i F_i (w_i - w0_i)^2 with F the diagonal of the Fisher information of the old task.
Here the old task is pre-training: F is estimated on the control's text (pre-training-like text, not
the forgetting sample) as the mean over masked batches of the squared gradient of the masked-LM loss
read out by the pretrained MLM head (an empirical, batch-level Fisher, as in common NLP uses of EWC),
then normalised to mean 1 so that `lam` has the same scale as L2-SP's `alpha`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch import nn

from stilts.contracts import IGNORE_INDEX
from stilts.controls.base import Control, ControlContext, name_buffer, snapshot
from stilts.errors import ConfigError
from stilts.forgetting.readout import MLMReadout, readout_from_masked_lm, readout_from_stilts_head
from stilts.forgetting.sample import masked_batches, read_sample
from stilts.forgetting.settings import head_source

log = logging.getLogger(__name__)


class EWC(Control):
    """Args:
    encoder: the encoder at the start of the stage (the reference w0).
    context: the cell config (the MLM head: `forgetting.mlm_head`), tokenizer and seed.
    lam: strength of the penalty.
    text: plain-text file the Fisher is estimated on.
    sentences: how many of its lines.
    batch_size: lines per Fisher batch.
    fisher: a precomputed diagonal Fisher by parameter name (skips the estimate; for tests).
    """

    def __init__(
        self,
        encoder: nn.Module,
        context: ControlContext | None = None,
        lam: float = 1.0,
        text: str | None = None,
        sentences: int = 256,
        batch_size: int = 16,
        fisher: dict[str, torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.lam = float(lam)
        reference = snapshot(encoder)
        self.names = list(reference)
        if fisher is None:
            if context is None or text is None:
                raise ConfigError("`control=ewc` needs `control.text` to estimate the Fisher on")
            fisher = estimate_fisher(encoder, context, Path(text), sentences, batch_size)
        for name, value in reference.items():
            self.register_buffer(name_buffer(name), value, persistent=False)
            self.register_buffer(
                f"fisher__{name_buffer(name)}", fisher[name].detach().clone(), persistent=False
            )

    def penalty(self, encoder: nn.Module) -> torch.Tensor:
        params = dict(encoder.named_parameters())
        total = sum(
            (
                getattr(self, f"fisher__{name_buffer(n)}")
                * (params[n] - getattr(self, name_buffer(n))).pow(2)
            ).sum()
            for n in self.names
        )
        return 0.5 * self.lam * total


def _readout(context: ControlContext, encoder: nn.Module) -> MLMReadout:
    source = head_source(context.forgetting, context.model)
    if source is None:
        raise ConfigError(
            "`control=ewc` needs the pretrained MLM head for its Fisher: set `forgetting.mlm_head` (or "
            "`model.encoder_weights` beside an mlm_head.safetensors), or choose control=l2sp"
        )
    if source == "hub":
        return readout_from_masked_lm(context.model)
    return readout_from_stilts_head(Path(source), encoder.get_input_embeddings().weight)


def estimate_fisher(
    encoder: nn.Module, context: ControlContext, text: Path, sentences: int, batch_size: int
) -> dict[str, torch.Tensor]:
    """The mean squared gradient of the masked-LM loss per weight, normalised to mean 1."""
    readout = _readout(context, encoder)
    settings = {"mask_probability": 0.15, "seed": context.seed, "batch_size": batch_size}
    batches = masked_batches(
        read_sample(text, sentences),
        context.tokenizer,
        OmegaConf.create(settings),
        int(context.model.max_length),
    )
    params = {n: p for n, p in encoder.named_parameters() if p.requires_grad}
    fisher = {n: torch.zeros_like(p) for n, p in params.items()}
    was_training = encoder.training
    encoder.eval()  # no dropout: the Fisher of the pretrained model itself
    for batch in batches:
        encoder.zero_grad(set_to_none=True)
        hidden = encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        chosen = batch["mlm_labels"] != IGNORE_INDEX
        loss = nn.functional.cross_entropy(readout(hidden[chosen]), batch["mlm_labels"][chosen])
        loss.backward()
        for n, p in params.items():
            if p.grad is not None:
                fisher[n] += p.grad.detach().pow(2) / len(batches)
    encoder.zero_grad(set_to_none=True)
    encoder.train(was_training)
    mean = torch.cat([f.flatten() for f in fisher.values()]).mean()
    log.info(
        "EWC: diagonal Fisher from %d masked batches of %s (mean before normalising %.3g)",
        len(batches),
        text,
        mean,
    )
    return {n: f / mean if mean > 0 else f for n, f in fisher.items()}
