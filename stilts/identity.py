"""The one identity of a cell: what determines a run, computed in one place (`identity_material`).

Everything that decides whether two runs are the same derives from `IdentityMaterial`, a function of
the composed config (plus, where a key needs them, the data fingerprints of the stages):

- the cell's **name** (the config's `cell_name`, `resolve_cell_name`): readable slot fields
  (intermediate, target, restart, explicit seed, lr, dropout, intermediate training-set size) plus a
  short hash of `IdentityMaterial.cell()`.
  It is computable from the config alone, so Hydra can name the run dir with it before any data is
  read; two cells that differ in any such setting (e.g. only in `seed` or `batch_size`) never share
  a run dir;
- the cell's **digest**: the hash of the same material plus the target data's fingerprints and the
  intermediate encoder's cache key. A run dir whose result has another digest is superseded: a
  changed dataset means a new result;
- the **intermediate encoder's cache key** (`IdentityMaterial.intermediate_key`), which `stilts-plan`
  also uses, without the data part, to count the intermediate trainings a sweep needs;
- the **forgetting store's key** (`IdentityMaterial.forgetting_key`).

The material hashes content, not locations: a model folder by its files' digests (a Hub id by id and
revision), `model.encoder_weights` by its digest; no absolute path, no description (a task's
`origin`, `family`) and no other role's settings (a task's `hparams` table: the slot's own lr,
dropout and batch size are in the resolved node). So a second clone, an installed wheel or a moved
checkout finds the same cells and cache entries.

It carries `KEY_VERSION`. Run dirs and cache entries written under an older version cannot be
matched to the current keys (their material held locations); stilts does not reuse them, and
`stilts-plan` and `stilts-train` name them (stilts.stale) instead of retraining silently.
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
# Version 1: the unversioned keys before issue 21 (they held absolute model paths and task
# descriptions). Raise it whenever what the material holds changes.
KEY_VERSION = 2
# Trainer keys that change how a run is displayed, not what it computes.
DISPLAY_ONLY = ("enable_progress_bar", "log_every_n_steps", "enable_model_summary", "num_sanity_val_steps")
# Task keys that describe a task or hold other roles' settings: they change no result.
DESCRIPTIVE_TASK_KEYS = ("origin", "family", "hparams")
# Model keys that name where a part comes from (a folder, an asset name or a Hub id).
MODEL_SOURCES = ("pretrained", "tokenizer", "architecture")


def short_hash(material: Any, chars: int = 16) -> str:
    """A stable hash of JSON-able material (keys sorted)."""
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:chars]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def stage_seed(seed: Any, seeds: DictConfig, restart: Any, stage: str) -> int:
    """The seed of a stage (`intermediate`, `target` or `probing`): `seed` when set, else the paper's
    seed of the stage for this restart, `seeds.<stage>[restart]` (the config check refuses restarts
    beyond the seed list)."""
    if seed is not None:
        return int(seed)
    return int(seeds[stage][int(restart)])


def downstream_role(target: DictConfig) -> str:
    """The role of the task node in the target slot: `probing` or `target`."""
    return "probing" if target.get("probing") else "target"


def task_optim(run_optim: DictConfig, task: DictConfig) -> DictConfig:
    """The optimisation a stage of the task node `task` trains with: the task's own `optim` node when it
    has one (edge probing: jiant's base_edgeprobe recipe, conf/optim/edge_probing.yaml), else the
    run's `optim` node, `run_optim`."""
    own = task.get("optim")
    return own if own is not None else run_optim


def training_settings(trainer: DictConfig) -> dict[str, Any]:
    """The settings of the `trainer` node that can change a trained model (precision, devices, step
    limits...)."""
    settings = OmegaConf.to_container(trainer, resolve=True)
    return {k: v for k, v in settings.items() if k not in DISPLAY_ONLY and k != "_target_"}


def file_digest(path: str | Path) -> str:
    from stilts.cache import file_sha256  # stilts.cache imports nothing of the identity

    return file_sha256(Path(path))


def folder_digest(folder: Path) -> str:
    """The digest of a folder's files (relative names and contents; hidden files left out)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    return short_hash([[p.relative_to(folder).as_posix(), file_digest(p)] for p in files], 32)


def source_content(name: Any, revision: Any) -> Any:
    """What a model part's source holds: a folder by its files' digest, a file by its digest, a Hub id
    (or the name of a folder shipped under stilts/assets, stilts.models.sources) by name and revision."""
    if not name:
        return name
    path = Path(str(name))
    if path.is_dir():
        return {"files": folder_digest(path)}
    if path.is_file():
        return {"file": file_digest(path)}
    return {"name": str(name), "revision": revision}


def model_content(model: DictConfig) -> dict[str, Any]:
    """The model node by content: its sources by what they hold, `encoder_weights` by its digest, and
    its `name` (a label) left out."""
    node = {k: v for k, v in _plain(model).items() if k != "name"}
    for key in MODEL_SOURCES:
        node[key] = source_content(node.get(key), node.get("revision") if key == "pretrained" else None)
    weights = node.get("encoder_weights")
    if weights:
        node["encoder_weights"] = {"file": file_digest(weights)} if Path(weights).is_file() else weights
    return node


def task_content(task: DictConfig) -> dict[str, Any]:
    """The resolved task node without its descriptions and its table of every role's settings."""
    return {k: v for k, v in _plain(task).items() if k not in DESCRIPTIVE_TASK_KEYS}


def forgetting_content(node: DictConfig | None, model: DictConfig) -> dict[str, Any] | None:
    """What the forgetting measures (the `forgetting` node `node`) depend on besides the measured
    encoder and the model (None when they are switched off or cannot be taken)."""
    from stilts.forgetting.settings import head_source, skip_reason

    if not node or not node.get("enabled", False) or skip_reason(node, model):
        return None
    settings = _plain(node)
    head = head_source(node, model)
    return {
        "settings": {k: v for k, v in settings.items() if k not in ("enabled", "text", "mlm_head")},
        "text": file_digest(node.text),
        "head": file_digest(head) if head not in (None, "hub") else head,
    }


@dataclass(frozen=True)
class IdentityMaterial:
    """What determines a cell, by part. `shared` holds what both stages train with (model, trainer,
    schedule, data source); `intermediate` what else determines the intermediate encoder (None for a
    `none` intermediate); `downstream` what else determines the target or probing stage."""

    shared: dict[str, Any]
    intermediate: dict[str, Any] | None
    downstream: dict[str, Any]
    forgetting: dict[str, Any] | None
    version: int = KEY_VERSION

    def cell(self) -> dict[str, Any]:
        """The material of the cell's name (the forgetting measures, kept with each encoder under a
        key of their own, do not rename cells)."""
        return {
            "key_version": self.version,
            **self.shared,
            "intermediate": self.intermediate,
            "downstream": self.downstream,
        }

    def intermediate_key(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The material of the intermediate encoder's cache key: with `data` (the intermediate task's
        data fingerprints, featurizer and tokenizer digest) as the cache keys it; without, as
        `stilts-plan` counts the trainings a sweep needs."""
        if self.intermediate is None:
            raise ValueError("a cell with a `none` intermediate has no intermediate encoder")
        material = {"key_version": self.version, **self.shared, **self.intermediate}
        return material if data is None else {**material, "data": data}

    def forgetting_key(self, tokenizer_digest: str) -> dict[str, Any]:
        """The material of the forgetting measures' key (stilts.forgetting.store)."""
        return {
            "key_version": self.version,
            "model": self.shared["model"],
            "tokenizer": tokenizer_digest,
            **(self.forgetting or {}),
        }


def identity_material(cfg: DictConfig) -> IdentityMaterial:
    """The one function of the composed config that says what a cell is (see the module's doc)."""
    none = cfg.intermediate.get("name") == NO_TASK
    seed, seeds, restart = cfg.get("seed"), cfg.get("seeds"), cfg.get("restart")
    intermediate = None
    if not none:
        intermediate = {
            "task": task_content(cfg.intermediate),
            "optim": _plain(task_optim(cfg.optim, cfg.intermediate)),
            "seed": stage_seed(seed, seeds, restart, "intermediate"),
            "control": control_material(cfg.get("control")),
        }
    shared = {
        "model": model_content(cfg.model),
        "trainer": training_settings(cfg.trainer),
        "schedule": _plain(cfg.get("schedule")),
        "data_source": cfg.data.get("source"),
    }
    checkpoint = (cfg.get("callbacks") or {}).get("checkpoint")
    if checkpoint is None or not checkpoint.get("monitor"):  # e.g. callbacks=last_state, both stages
        shared["scored_state"] = "last"  # absent when the best checkpoint is scored (the default)
    if cfg.data.get("length_grouped") is False:
        shared["batches"] = "random"  # absent for length-grouped batches (the default)
    return IdentityMaterial(
        shared=shared,
        intermediate=intermediate,
        downstream={
            "task": task_content(cfg.target),
            "optim": _plain(task_optim(cfg.optim, cfg.target)),
            "seed": stage_seed(seed, seeds, restart, downstream_role(cfg.target)),
            "restart": restart,
        },
        forgetting=forgetting_content(cfg.get("forgetting"), cfg.model),
    )


def slot(
    intermediate: DictConfig, target: DictConfig, control: DictConfig | None, restart: Any, seed: Any
) -> str:
    """The readable part of a cell's name, from its task nodes, `control` node, `restart` and `seed`."""
    parts = [str(intermediate.get("name"))]
    if intermediate.get("name") != NO_TASK and control_name(control) != NO_CONTROL:
        parts.append(control_name(control))  # e.g. mnli__l2sp__rte__r0...
    parts += [str(target.get("name")), f"r{restart}"]
    if seed is not None:
        parts.append(f"s{seed}")
    parts.append(f"lr{target.get('lr')}_do{target.get('dropout')}")
    if intermediate.get("name") != NO_TASK and intermediate.get("train_size") is not None:
        parts.append(f"n{intermediate.train_size}")
    return "__".join(parts)


def resolve_cell_name(*, _root_: DictConfig) -> str:
    """The cell's run-dir name, `${stilts_cell_name:}` (conf/train.yaml `cell_name`, an OmegaConf
    resolver: `_root_` is the composed config): its slot and a short hash of `IdentityMaterial.cell()`.

    Never raises: a config that cannot be hashed (e.g. a bad `restart`) still gets a name, so its job
    runs far enough to record the error in a result of its own instead of ending the sweep.
    """
    cfg = _root_
    try:
        material: Any = identity_material(cfg).cell()
    except Exception as err:  # noqa: BLE001 - the config check names the problem when the cell runs
        material = {"unhashable": repr(err), "config": OmegaConf.to_yaml(cfg, resolve=False)}
    name = slot(cfg.intermediate, cfg.target, cfg.get("control"), cfg.get("restart"), cfg.get("seed"))
    return f"{name}__{short_hash(material, NAME_HASH_CHARS)}"


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
        return {"name": self.name, "digest": self.digest, "data": self.data, "key_version": KEY_VERSION}


def cell_identity(
    name: str, material: IdentityMaterial, target_data: dict[str, str], intermediate_key: str | None
) -> CellIdentity:
    """The identity of a cell.

    Args:
        name: the cell's run-dir name (`resolve_cell_name`).
        material: `identity_material` of the cell's config.
        target_data: the downstream task's data fingerprints by split (`TaskDataModule.data_fingerprint`).
        intermediate_key: the intermediate encoder's cache key (covers its task's data), or None.
    """
    return CellIdentity(
        name=name,
        config=material.cell(),
        data={"target": target_data, "intermediate_encoder": intermediate_key},
    )
