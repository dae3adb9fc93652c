"""The shared encoder (any `transformers.AutoModel`, SDPA attention by default) and its tokenizer.

Where the tokenizer, the architecture and the attention come from: stilts.models.sources."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from stilts.errors import ConfigError
from stilts.models.sources import attn_implementation, config_source, tokenizer_source

log = logging.getLogger(__name__)

# Config attributes that carry dropout in the architectures stilts uses: BERT, RoBERTa, MiniLM and
# DeBERTa (hidden + attention), ModernBERT (attention, embedding, MLP).
DROPOUT_ATTRIBUTES = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "dropout",
    "attention_dropout",
    "embedding_dropout",
    "mlp_dropout",
)


def load_tokenizer(model_cfg: DictConfig) -> PreTrainedTokenizerBase:
    """The model's fast tokenizer (needed for offsets when spans are projected to sub-tokens)."""
    key, source, revision = tokenizer_source(model_cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except OSError as err:  # not a folder, and the Hub unreachable or the id unknown
        raise ConfigError(
            f"`{key}` {source}: no tokenizer could be loaded ({str(err).splitlines()[0]}); give a local "
            f"folder, a Hub id reachable from here, or a name under stilts/assets (e.g. tiny_roberta)"
        ) from err
    if not tokenizer.is_fast:
        raise ConfigError(f"`{key}` {source}: stilts needs a fast tokenizer")
    return tokenizer


def _config(model_cfg: DictConfig) -> tuple[str, AutoConfig]:
    """The encoder's config and the key it came from (`model.architecture` for random-initialised
    encoders that name one, else `model.pretrained`)."""
    key, source, revision = config_source(model_cfg)
    try:
        return key, AutoConfig.from_pretrained(source, revision=revision)
    except OSError as err:
        raise ConfigError(
            f"`{key}` {source}: no config.json could be loaded ({str(err).splitlines()[0]}); offline, "
            f"use `model.random_init=true` with an architecture under stilts/assets (e.g. roberta_large)"
        ) from err


def build_encoder(model_cfg: DictConfig, dropout: float, weights: Path | None = None) -> PreTrainedModel:
    """The encoder with `dropout` as its hidden and attention dropout.

    `model.random_init: true` builds the architecture from its config with fresh weights (the `tiny`
    models, and smoke runs of the real architectures); otherwise the pretrained weights are loaded.
    """
    key, config = _config(model_cfg)
    touched = [attr for attr in DROPOUT_ATTRIBUTES if hasattr(config, attr)]
    if not touched:
        raise ConfigError(f"`{key}` {config.name_or_path}: no dropout attribute to set")
    for attr in touched:
        setattr(config, attr, dropout)
    node = model_cfg.get("kwargs")
    kwargs = OmegaConf.to_container(node, resolve=True) if node else {}
    attn = attn_implementation(model_cfg)
    try:
        if model_cfg.get("random_init", False):
            encoder = AutoModel.from_config(config, attn_implementation=attn, **kwargs)
        else:
            encoder = AutoModel.from_pretrained(
                model_cfg.pretrained,
                config=config,
                revision=model_cfg.get("revision"),
                attn_implementation=attn,
                **kwargs,
            )
    except (ValueError, ImportError) as err:  # an attention the architecture or this machine lacks
        raise ConfigError(
            f"`model.attn_implementation` {attn} for {type(config).__name__}: {str(err).splitlines()[0]}"
        ) from err
    # Weights of an earlier stilts stage: `weights` (the intermediate encoder) or, without it,
    # `model.encoder_weights` (e.g. MLM pre-training with save_encoder=true). Loaded strictly.
    weights = weights or model_cfg.get("encoder_weights")
    if weights:
        encoder.load_state_dict(load_file(str(weights)), strict=True)
    return encoder
