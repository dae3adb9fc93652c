"""The one identity of a cell, used by its run dir, relaunch skipping, the sweep summary, `stilts-plan`
and the analysis' de-duplication.

A cell is identified at two levels:

- its **name** (`cell_name`): readable slot fields (intermediate, target, restart, explicit seed, lr,
  dropout, intermediate training-set size) plus a short hash of every *config* value that changes
  the result. It is computable from the config alone, so Hydra can name the run dir with it before
  any data is read; two cells that differ in any such setting (e.g. only in `seed` or `batch_size`)
  never share a run dir.
- its **digest**: the hash of the name's material plus the content fingerprints of the data both
  stages read (the intermediate encoder's cache key covers the intermediate task's data). A run dir
  whose result has another digest is superseded: a changed dataset means a new result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from stilts.controls import NO_CONTROL, control_material, control_name

NO_TASK = "none"
NAME_HASH_CHARS = 8
# Trainer keys that change how a run is displayed, not what it computes.
DISPLAY_ONLY = ("enable_progress_bar", "log_every_n_steps", "enable_model_summary", "num_sanity_val_steps")


def short_hash(material: Any, chars: int = 16) -> str:
    """A stable hash of JSON-able material (keys sorted)."""
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:chars]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def stage_seed(cfg: DictConfig, stage: str) -> int:
    """The seed of a stage (`intermediate`, `target` or `probing`): `seed` when set, else the paper's
    seed of the stage for this restart (the config check refuses restarts beyond the seed list)."""
    if cfg.get("seed") is not None:
        return int(cfg.seed)
    return int(cfg.seeds[stage][int(cfg.restart)])


def downstream_role(cfg: DictConfig) -> str:
    return "probing" if cfg.target.get("probing") else "target"


def training_settings(cfg: DictConfig) -> dict[str, Any]:
    """The trainer settings that can change a trained model (precision, devices, step limits...)."""
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    return {k: v for k, v in trainer.items() if k not in DISPLAY_ONLY and k != "_target_"}


def weights_digest(cfg: DictConfig) -> str | None:
    """The content hash of `model.encoder_weights`, so a retrained start point changes every key."""
    from stilts.cache import file_sha256

    weights = cfg.model.get("encoder_weights")
    return file_sha256(Path(weights)) if weights and Path(weights).is_file() else weights


def config_material(cfg: DictConfig) -> dict[str, Any]:
    """Every config value that determines the cell's result (paths, loggers and display settings do
    not). A `none` intermediate contributes its name only: its other keys exist so that sweeps can set
    `intermediate.*` for every choice, and they change nothing."""
    intermediate = cfg.intermediate
    none = intermediate.get("name") == NO_TASK
    control = None if none else control_material(cfg)
    material = {
        "intermediate": {"name": NO_TASK} if none else _plain(intermediate),
        "target": _plain(cfg.target),
        "model": _plain(cfg.model),
        "optim": _plain(cfg.optim),
        "restart": cfg.get("restart"),
        "seeds": {
            "intermediate": None if none else stage_seed(cfg, "intermediate"),
            "downstream": stage_seed(cfg, downstream_role(cfg)),
        },
        "trainer": training_settings(cfg),
        "schedule": _plain(cfg.get("schedule")),
        "encoder_weights": weights_digest(cfg),
        "data_source": cfg.data.get("source"),
    }
    if control is not None:  # absent for `control=none`: the default keeps every earlier name
        material["control"] = control
    checkpoint = (cfg.get("callbacks") or {}).get("checkpoint")
    if checkpoint is None or not checkpoint.get("monitor"):  # e.g. callbacks=last_state
        material["scored_state"] = "last"  # absent when the best checkpoint is scored (the default)
    return material


def slot(cfg: DictConfig) -> str:
    """The readable part of a cell's name."""
    parts = [str(cfg.intermediate.get("name"))]
    if cfg.intermediate.get("name") != NO_TASK and control_name(cfg) != NO_CONTROL:
        parts.append(control_name(cfg))  # e.g. mnli__l2sp__rte__r0...
    parts += [str(cfg.target.get("name")), f"r{cfg.get('restart')}"]
    if cfg.get("seed") is not None:
        parts.append(f"s{cfg.seed}")
    parts.append(f"lr{cfg.target.get('lr')}_do{cfg.target.get('dropout')}")
    if cfg.intermediate.get("name") != NO_TASK and cfg.intermediate.get("train_size") is not None:
        parts.append(f"n{cfg.intermediate.train_size}")
    return "__".join(parts)


def cell_name(cfg: DictConfig) -> str:
    """The cell's run-dir name: its slot and a short hash of `config_material`.

    Never raises: a config that cannot be hashed (e.g. a bad `restart`) still gets a name, so its job
    runs far enough to record the error in a result of its own instead of ending the sweep.
    """
    try:
        material: Any = config_material(cfg)
    except Exception as err:  # noqa: BLE001 - the config check names the problem when the cell runs
        material = {"unhashable": repr(err), "config": OmegaConf.to_yaml(cfg, resolve=False)}
    return f"{slot(cfg)}__{short_hash(material, NAME_HASH_CHARS)}"


def resolve_cell_name(*, _root_: DictConfig) -> str:
    """OmegaConf resolver behind `${stilts_cell_name:}` (stilts/conf/train.yaml `cell_name`)."""
    return cell_name(_root_)


@dataclass(frozen=True)
class CellIdentity:
    """A cell's name and digest, and the data fingerprints that went into the digest."""

    name: str
    config: dict[str, Any]
    data: dict[str, Any]

    @property
    def digest(self) -> str:
        return short_hash({"config": self.config, "data": self.data})

    def record(self) -> dict[str, Any]:
        """What result.json and cell.json keep of the identity."""
        return {"name": self.name, "digest": self.digest, "data": self.data}


def cell_identity(cfg: DictConfig, target_data: dict[str, str], intermediate_key: str | None) -> CellIdentity:
    """The identity of the cell `cfg` describes.

    Args:
        cfg: the composed cell config.
        target_data: the downstream task's data fingerprints by split (`TaskDataModule.data_fingerprint`).
        intermediate_key: the intermediate encoder's cache key (covers its task's data), or None.
    """
    return CellIdentity(
        name=str(cfg.get("cell_name") or cell_name(cfg)),
        config=config_material(cfg),
        data={"target": target_data, "intermediate_encoder": intermediate_key},
    )
