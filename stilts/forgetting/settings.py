"""Where the forgetting measures' inputs come from (the `forgetting` and `model` config nodes): the
pretrained MLM head that reads every encoder out, and why no measure can be taken. Kept apart from the
measuring (stilts.forgetting.store) because the cell's identity (stilts.identity) hashes them too."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from stilts.forgetting.readout import MLM_HEAD


def head_source(forgetting: DictConfig, model: DictConfig) -> str | None:
    """Where the pretrained MLM head comes from: a stilts head file, `hub` (the masked-LM checkpoint of
    `model.pretrained`) or None (no head: the MLM loss is left out).

    `forgetting.mlm_head: auto` takes the `mlm_head.safetensors` beside `model.encoder_weights` when
    there is one, else the checkpoint's head unless the model is built with random weights."""
    setting = forgetting.get("mlm_head")
    if setting is None:
        return None
    if setting != "auto":
        return str(setting)
    weights = model.get("encoder_weights")
    if weights and (Path(weights).parent / MLM_HEAD).is_file():
        return str(Path(weights).parent / MLM_HEAD)
    return None if model.get("random_init") else "hub"


def skip_reason(forgetting: DictConfig, model: DictConfig) -> str | None:
    """Why no measure can be taken with these `forgetting` and `model` nodes (None when they can)."""
    if model.get("random_init") and not model.get("encoder_weights"):
        return "no pretrained encoder: model.random_init without model.encoder_weights"
    if not Path(forgetting.text).is_file():
        return f"no text sample: forgetting.text {forgetting.text} does not exist"
    return None
