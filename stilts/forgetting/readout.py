"""The pretrained model's masked-LM head, used as a fixed readout on top of every measured encoder.

Two sources: the head of the pretrained masked-LM checkpoint (`AutoModelForMaskedLM`, e.g. RoBERTa's
`lm_head`), or, for a model stilts pre-trained itself (the tiny model), the `mlm_head.safetensors`
that an MLM cell with `save_encoder=true` writes beside its `encoder.safetensors`. In both the decoder
is the *pretrained* input embedding matrix, so every encoder is read out by the same weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F
from transformers import AutoModelForMaskedLM

from stilts.errors import ConfigError

MLM_HEAD = "mlm_head.safetensors"  # written by an MLM cell with save_encoder=true (stilts.pipeline)
HEAD_KEYS = ("dense.weight", "dense.bias", "norm.weight", "norm.bias", "bias")


class MLMReadout(nn.Module):
    """dense -> GELU -> LayerNorm -> decoder (+ bias), as BERT's and RoBERTa's MLM heads."""

    def __init__(
        self, dense: nn.Linear, norm: nn.LayerNorm, decoder: torch.Tensor, bias: torch.Tensor
    ) -> None:
        super().__init__()
        self.dense = dense
        self.norm = norm
        self.register_buffer("decoder", decoder.detach().clone())
        self.register_buffer("bias", bias.detach().clone())

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.norm(F.gelu(self.dense(hidden))) @ self.decoder.T + self.bias


def readout_from_stilts_head(path: Path, embeddings: torch.Tensor) -> MLMReadout:
    """The head a stilts MLM stage saved (stilts.models.mlm_head.MaskedLMHead), decoding with
    `embeddings` (the pretrained encoder's input embeddings, to which that head was tied)."""
    state = load_file(str(path))
    missing = [key for key in HEAD_KEYS if key not in state]
    if missing:
        raise ConfigError(
            f"`forgetting.mlm_head` {path}: not a stilts MLM head (no {', '.join(missing)}); give the "
            f"{MLM_HEAD} an MLM cell with save_encoder=true wrote, or null to skip the MLM loss"
        )
    hidden = state["dense.weight"].shape[1]
    dense, norm = nn.Linear(hidden, hidden), nn.LayerNorm(hidden)
    dense.load_state_dict({"weight": state["dense.weight"], "bias": state["dense.bias"]})
    norm.load_state_dict({"weight": state["norm.weight"], "bias": state["norm.bias"]})
    return MLMReadout(dense, norm, embeddings, state["bias"])


class NoMLMHead(ConfigError):
    """The checkpoint carries no trained masked-LM head (e.g. the sentence-transformers MiniLM of
    `model=minilm`): `from_pretrained` would initialise one at random, and nothing read out by a random
    head measures the encoder."""


def readout_from_masked_lm(model_cfg: DictConfig) -> MLMReadout:
    """The head of `model.pretrained`'s masked-LM checkpoint (RoBERTa-style `lm_head` or BERT-style
    `cls.predictions`).

    Raises:
        NoMLMHead: when the checkpoint lacks the head's weights.
    """
    model, info = AutoModelForMaskedLM.from_pretrained(
        model_cfg.pretrained, revision=model_cfg.get("revision"), output_loading_info=True
    )
    missing = sorted(k for k in info["missing_keys"] if k.startswith(("lm_head.", "cls.predictions.")))
    if missing:
        checkpoint = Path(str(model_cfg.pretrained)).name  # no local path: reports quote this message
        raise NoMLMHead(
            f"the checkpoint of model={model_cfg.get('name')} ({checkpoint}) has no "
            f"trained masked-LM head (missing {', '.join(missing[:3])}...): the MLM-loss readout is "
            "unavailable for it"
        )
    decoder = model.get_output_embeddings()
    if hasattr(model, "lm_head"):
        head = model.lm_head
        return MLMReadout(head.dense, head.layer_norm, decoder.weight, head.bias)
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):
        head = model.cls.predictions
        return MLMReadout(head.transform.dense, head.transform.LayerNorm, decoder.weight, head.bias)
    raise ConfigError(
        f"`model.pretrained` {model_cfg.pretrained}: its masked-LM head is neither RoBERTa's `lm_head` nor "
        "BERT's `cls.predictions`; set `forgetting.mlm_head` to a stilts MLM head file, or null"
    )
