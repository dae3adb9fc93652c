"""Where a model config's parts come from: the tokenizer, the architecture config, the attention.

A model config (conf/model/) names them with `pretrained` (the Hub id or folder of the pretrained
encoder: weights, config and tokenizer), `tokenizer` (another tokenizer; null: the one of `pretrained`),
`architecture` (the config.json a randomly initialised encoder is built from when `random_init` is true;
null: the one of `pretrained`) and `attn_implementation` (`sdpa` by default, `eager`, or
`flash_attention_2` where flash-attn is installed). `tokenizer` and `architecture` take a folder, a Hub
id, or the name of a folder shipped under stilts/assets (`roberta_large`, `tiny_roberta`, ...), so
random-initialised runs of the real architectures need no Hub:
`model=roberta_large model.random_init=true model.tokenizer=tiny_roberta`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from omegaconf import DictConfig

from stilts.config import asset_path


class Source(NamedTuple):
    """A part's config key (for error messages), its folder or Hub id, and its Hub revision."""

    key: str
    path: str
    revision: str | None


def resolve_source(name: str) -> str:
    """A folder shipped under stilts/assets when `name` names one, else `name` (a folder or Hub id)."""
    shipped = Path(asset_path(name))
    return str(shipped) if "/" not in name and shipped.is_dir() else name


def tokenizer_source(model_cfg: DictConfig) -> Source:
    """`model.tokenizer` when set, else the tokenizer of `model.pretrained`."""
    if model_cfg.get("tokenizer"):
        return Source("model.tokenizer", resolve_source(str(model_cfg.tokenizer)), None)
    return Source("model.pretrained", resolve_source(str(model_cfg.pretrained)), model_cfg.get("revision"))


def config_source(model_cfg: DictConfig) -> Source:
    """`model.architecture` for a random-initialised encoder that names one, else `model.pretrained`."""
    if model_cfg.get("random_init", False) and model_cfg.get("architecture"):
        return Source("model.architecture", resolve_source(str(model_cfg.architecture)), None)
    return Source("model.pretrained", resolve_source(str(model_cfg.pretrained)), model_cfg.get("revision"))


def attn_implementation(model_cfg: DictConfig) -> str:
    """`model.attn_implementation`, SDPA when unset. DeBERTa's model configs say `eager`: transformers
    has no SDPA path for its disentangled attention (content plus relative-position scores)."""
    return str(model_cfg.get("attn_implementation") or "sdpa")
