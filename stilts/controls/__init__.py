"""Controls against forgetting during intermediate training (config group `control`).

`control=none` (the default) changes nothing. The others, each in a module of its own with its
paper: `mlm_mix` (masked-LM batches interleaved with the task's), `l2sp` (a pull towards the
pretrained weights, Li et al. 2018) and `ewc` (the same pull weighted by a diagonal Fisher,
Kirkpatrick et al. 2017). A control acts on the intermediate stage only; its settings are part of the
intermediate encoder's cache key and of the cell's identity.
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from stilts.controls.base import Control, ControlContext
from stilts.errors import ConfigError

NO_CONTROL = "none"


def control_name(node: DictConfig | None) -> str:
    """The name of the `control` node (`none` when the config has no such node)."""
    return NO_CONTROL if node is None else str(node.get("name", NO_CONTROL))


def control_material(node: DictConfig | None) -> dict[str, Any] | None:
    """The control's settings for cache keys and identities; None for `none`, so that the default
    leaves every key exactly as it was before controls existed."""
    if control_name(node) == NO_CONTROL:
        return None
    return OmegaConf.to_container(node, resolve=True)


def build_control(node: DictConfig | None, encoder: nn.Module, context: ControlContext) -> Control | None:
    """The control of the `control` node for a stage (stilts.cell gives only intermediate stages one);
    `none` is no control at all."""
    if node is None or control_name(node) == NO_CONTROL:
        return None
    settings = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if k != "name"}
    if "_target_" not in settings:
        raise ConfigError(f"`control` {control_name(node)}: the node has no `_target_` (conf/control/*.yaml)")
    # A partial: the settings come from the config, the live encoder and context from the stage.
    make = instantiate(settings, _partial_=True)
    return make(encoder=encoder, context=context)
