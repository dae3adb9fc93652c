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
# Where the task's (grid) dropout goes, `model.dropout_placement`:
# - head: only on the encoder output, before the head; the encoder keeps its own dropout (0.1 for
#   RoBERTa). The paper's: jiant v1 loads RoBERTa with its pretrained config
#   (jiant/pytorch_transformers_interface/modules.py:319) and applies `dropout` to the encoder's
#   output (jiant/modules/sentence_encoder.py:135, 154).
# - every_layer: also every layer's hidden and attention dropout (stilts' earlier behaviour).
DROPOUT_PLACEMENTS = ("head", "every_layer")
# Architectures whose position ids start after the padding index (RoBERTa: 514 positions, 512 usable).
POSITION_OFFSET = {"roberta": 2, "xlm-roberta": 2, "camembert": 2}


def load_tokenizer(model_cfg: DictConfig) -> PreTrainedTokenizerBase:
    """The model's fast tokenizer (needed for offsets when spans are projected to sub-tokens), after
    checking that `model.max_length` fits the architecture's positions."""
    key, source, revision = tokenizer_source(model_cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except (OSError, ValueError) as err:  # not a folder, and the Hub unreachable or the id unknown
        raise ConfigError(
            f"`{key}` is {str(source)!r}: no tokenizer could be loaded ({str(err).splitlines()[0]}); give "
            "a local folder, a name under stilts/assets (e.g. tiny_roberta), or a Hub id with network "
            "access (offline: download it first with `huggingface-cli download`)"
        ) from err
    if not tokenizer.is_fast:
        raise ConfigError(f"`{key}` {source}: stilts needs a fast tokenizer")
    config_key, config = _config(model_cfg)
    positions = getattr(config, "max_position_embeddings", None)
    if positions is not None:
        usable = positions - POSITION_OFFSET.get(config.model_type, 0)
        if int(model_cfg.max_length) > usable:
            raise ConfigError(
                f"`model.max_length` is {model_cfg.max_length}, but the architecture of `{config_key}` has "
                f"{usable} positions; set `model.max_length` to at most {usable}"
            )
        # `model.truncation: segment` fits a pair into these (stilts.tasks.truncation).
        tokenizer._stilts_positions = usable
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


def _from_pretrained(model_cfg: DictConfig, config: AutoConfig, attn: str, kwargs: dict) -> PreTrainedModel:
    """`AutoModel.from_pretrained` with stilts' own account of what the checkpoint did not fill.

    transformers logs a load-report table for every difference between checkpoint and model, also for
    the differences stilts asks for: the heads of a pre-training checkpoint (RoBERTa's `lm_head`), and
    a checkpoint's pooler left out with `model.kwargs.add_pooling_layer: false` (the paper's
    first-token head; MiniLM and RoBERTa ship a pooler). Those are INFO lines here. Unused weights of
    the encoder's own modules and weights the checkpoint lacks (freshly initialised) are warnings, by
    name. A report with size mismatches or conversion errors is kept as transformers writes it (it
    carries the details, and transformers raises or re-initialises after it).
    """
    modeling_log = logging.getLogger("transformers.modeling_utils")
    modeling_log.addFilter(_replaced_report)
    try:
        encoder, info = AutoModel.from_pretrained(
            model_cfg.pretrained,
            config=config,
            revision=model_cfg.get("revision"),
            attn_implementation=attn,
            output_loading_info=True,
            **kwargs,
        )
    finally:
        modeling_log.removeFilter(_replaced_report)
    source, name = model_cfg.pretrained, type(encoder).__name__
    modules = {child for child, _ in encoder.named_children()}
    pooler, heads, own = [], [], []
    for key in sorted(info.get("unexpected_keys") or []):
        parts = key.split(".")
        top = parts[1] if parts[0] == encoder.base_model_prefix and len(parts) > 1 else parts[0]
        if top == "pooler" and kwargs.get("add_pooling_layer") is False:
            pooler.append(key)
        elif top in modules:
            own.append(key)
        else:
            heads.append(key)
    if pooler:
        log.info("%s: the checkpoint's pooler (%d tensors) is unused (model.kwargs.add_pooling_layer=false)",
                 source, len(pooler))  # fmt: skip
    if heads:
        log.info("%s: %d tensors of the checkpoint's heads are not part of %s: %s", source, len(heads), name,
                 _names(heads))  # fmt: skip
    if own:
        log.warning("%s: %d checkpoint tensors are not used by %s: %s", source, len(own), name, _names(own))
    if missing := sorted(info.get("missing_keys") or []):
        log.warning("%s: %d weights are not in the checkpoint and start freshly initialised: %s", source,
                    len(missing), _names(missing))  # fmt: skip
    return encoder


def _replaced_report(record: logging.LogRecord) -> bool:
    """False for transformers' load report when `_from_pretrained` says the same in its own lines."""
    message = record.getMessage()
    return "LOAD REPORT" not in message or "MISMATCH" in message or "CONVERSION" in message


def _names(keys: list[str], shown: int = 5) -> str:
    return ", ".join(keys[:shown]) + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def build_encoder(model_cfg: DictConfig, dropout: float, weights: Path | None = None) -> PreTrainedModel:
    """The encoder; with `model.dropout_placement: every_layer`, `dropout` becomes its hidden and
    attention dropout, with `head` it keeps its own (the head applies `dropout` to its input).

    `model.random_init: true` builds the architecture from its config with fresh weights (the `tiny`
    models, and smoke runs of the real architectures); otherwise the pretrained weights are loaded.
    """
    placement = model_cfg.get("dropout_placement")
    if placement not in DROPOUT_PLACEMENTS:
        raise ConfigError(
            f"model `{model_cfg.get('name')}`: config key `model.dropout_placement` is {placement!r}; "
            f"set it to one of {', '.join(DROPOUT_PLACEMENTS)} in the model yaml (head: the paper's)"
        )
    key, config = _config(model_cfg)
    if placement == "every_layer":
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
            encoder = _from_pretrained(model_cfg, config, attn, kwargs)
    except (ValueError, ImportError) as err:  # an attention the architecture or this machine lacks
        raise ConfigError(
            f"`model.attn_implementation` {attn} for {type(config).__name__}: {str(err).splitlines()[0]}"
        ) from err
    # Weights of an earlier stilts stage: `weights` (the intermediate encoder) or, without it,
    # `model.encoder_weights` (e.g. MLM pre-training with save_encoder=true). Loaded strictly.
    weights = weights or model_cfg.get("encoder_weights")
    if weights:
        encoder.load_state_dict(load_file(str(weights)), strict=True)
    # transformers' `from_pretrained` returns the model in eval mode, and Lightning (>= 2.2) keeps each
    # module's mode when fitting starts: without this a pretrained encoder would train with its own
    # dropout off. jiant puts the model in training mode before every step (jiant/trainer.py:583).
    encoder.train()
    return encoder
