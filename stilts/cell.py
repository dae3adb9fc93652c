"""A cell's settings, resolved once from its composed config.

An entry point (`stilts-train`, `stilts-plan`, `stilts-rank`) composes a cell's config and resolves it
here, once, into a `Cell`: per stage (`StageSettings`) the task spec with its role's hyperparameters,
the seed, the optimisation node and the control; for the cell its name and identity
(stilts.identity.identity_material, of the same composed config), the model node, where data is read
and cached and how it is cut, the trainer node, the schedule style and the forgetting settings.
Everything below the entry points takes these settings, never the composed config
(tests/unit/test_structure.py counts the functions that take it), so each setting is read in one
place and a stage trains with exactly what keys its cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from stilts.identity import (
    NO_TASK,
    IdentityMaterial,
    identity_material,
    resolve_cell_name,
    stage_seed,
    task_optim,
)
from stilts.schedule import schedule_style
from stilts.schema import RootSettings, TaskSettings
from stilts.schema_check import read_node
from stilts.tasks.spec import TaskSpec
from stilts.validate import PARTS, check_parts, check_restart, check_slots


@dataclass(frozen=True)
class StageSettings:
    """What one stage trains with.

    Attributes:
        role: `intermediate`, `target` or `probing`.
        spec: the task, read and checked; its `lr`, `dropout`, `batch_size`, `max_epochs`,
            `val_interval`, `max_vals` and `patience` are the stage's hyperparameters (the role's own,
            stilts.config.role_setting).
        seed: `seed` when set, else the paper's seed of the role for the cell's restart.
        optim: the optimisation node: optimizer, learning-rate schedule, no-decay list and gradient
            clipping (the task's own `optim` when it has one, stilts.identity.task_optim).
        control: the `control` node against forgetting; None for every downstream stage (a control
            acts on the intermediate stage only).
    """

    role: str
    spec: TaskSpec
    seed: int
    optim: DictConfig
    control: DictConfig | None = None


@dataclass(frozen=True)
class Paths:
    """`paths` below the run dir: where task data is read and where caches live (featurized data,
    intermediate encoders, forgetting measures)."""

    data_dir: str
    cache_dir: str


@dataclass(frozen=True)
class InputSettings:
    """How the stages' inputs are read (`data.source`, `data.num_workers`), batched
    (`data.length_grouped`) and cut to the model's length (`model.max_length`, `model.truncation`)."""

    source: str
    num_workers: int
    length_grouped: bool
    max_length: int
    truncation: str


@dataclass(frozen=True)
class Cell:
    """A cell's settings (`resolve_cell`).

    Attributes:
        name: the run-dir name (`cell_name`, stilts.identity.resolve_cell_name).
        identity: what determines the cell (stilts.identity.identity_material).
        intermediate: the intermediate stage; None for a `none` intermediate task.
        downstream: the target or probing stage.
        restart: the restart index, which picks each stage's seed.
        model: the `model` node (stilts.models.encoder builds the encoder and tokenizer from it).
        paths, inputs: where data is read and cached; how it is read and cut.
        trainer: the `trainer` node (Lightning `Trainer` arguments).
        schedule: `jiant` or `epochs` (stilts.schedule).
        forgetting: the `forgetting` node (stilts.forgetting), or None.
        force: rerun a finished cell.
        save_encoder: also write the downstream stage's encoder into the run dir.
        delete_checkpoints: delete the stages' checkpoints once the result is written
            (`keep_checkpoints: false`).
        composed: the composed config itself, for what needs it whole: the logger records it as the
            stage's hyperparameters, and the callback and logger nodes interpolate it (`${stage.dir}`,
            `${cell_name}`; stilts.stage.stage_view). No setting is read from it.
    """

    name: str
    identity: IdentityMaterial
    intermediate: StageSettings | None
    downstream: StageSettings
    restart: int
    model: DictConfig
    paths: Paths
    inputs: InputSettings
    trainer: DictConfig
    schedule: str
    forgetting: DictConfig | None
    force: bool
    save_encoder: bool
    delete_checkpoints: bool
    composed: DictConfig

    def stages(self) -> list[StageSettings]:
        """The cell's stages in the order they train."""
        return [stage for stage in (self.intermediate, self.downstream) if stage is not None]


def resolve_cell(cfg: DictConfig, check: bool = True) -> Cell:
    """The settings of the cell whose composed config is `cfg`.

    Args:
        check: first refuse a config the cell's schema does not allow (stilts.validate): every cell
            that runs is checked. `stilts-rank` resolves its candidates unchecked: their configs,
            composed from rank.yaml, hold rank.yaml's own keys besides the cell's.

    Raises:
        ConfigError: naming the first offending key, its value and what is allowed.
    """
    none = cfg.intermediate.get("name") == NO_TASK
    if check:
        check_slots(cfg.intermediate, cfg.target)
        read_node(cfg, RootSettings, "")  # the top level: types, ranges, unknown keys
        if none:  # no intermediate stage: a sweep may still set its settings for every choice (unused)
            read_node(cfg.intermediate, TaskSettings, "intermediate", nullable=True, complete=False)
    intermediate = None if none else TaskSpec.from_config(cfg.intermediate, key="intermediate")
    target = TaskSpec.from_config(cfg.target, key="target")
    roles = [target.role] + ([] if intermediate is None else ["intermediate"])
    if check:
        check_parts({key: cfg.get(key) for key in PARTS}, cfg.get("control"))
        check_restart(cfg.get("restart"), cfg.get("seed"), cfg.seeds, roles)

    def stage(
        role: str, spec: TaskSpec, node: DictConfig, control: DictConfig | None = None
    ) -> StageSettings:
        """The settings of the stage that trains the task `spec` of the task node `node` in `role`."""
        seed = stage_seed(cfg.get("seed"), cfg.get("seeds"), cfg.get("restart"), role)
        return StageSettings(role, spec, seed, task_optim(cfg.optim, node), control)

    return Cell(
        name=str(cfg.get("cell_name") or resolve_cell_name(_root_=cfg)),
        identity=identity_material(cfg),
        intermediate=None
        if intermediate is None
        else stage("intermediate", intermediate, cfg.intermediate, cfg.get("control")),
        downstream=stage(target.role, target, cfg.target),
        restart=int(cfg.restart),
        model=cfg.model,
        paths=Paths(str(cfg.paths.data_dir), str(cfg.paths.cache_dir)),
        inputs=InputSettings(
            str(cfg.data.source),
            int(cfg.data.num_workers),
            bool(cfg.data.length_grouped),
            int(cfg.model.max_length),
            str(cfg.model.truncation),
        ),
        trainer=cfg.trainer,
        schedule=schedule_style(cfg.get("schedule")),
        forgetting=cfg.get("forgetting"),
        force=bool(cfg.get("force", False)),
        save_encoder=bool(cfg.get("save_encoder")),
        delete_checkpoints=cfg.get("keep_checkpoints") is False,
        composed=cfg,
    )
