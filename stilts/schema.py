"""The typed schema of the config: every key of a task, model and root node, its type, its default
and its range, in one place.

The defaults of the task and model nodes are registered in Hydra's ConfigStore as `task_defaults`
and `model_defaults` (the task and model yamls include them with `/task_defaults@_here_`), so a key
and its default are declared once, here. They are registered as plain nodes, not as typed structured
configs: the check (`stilts.schema_check.read_node`) then refuses a typo or a bad value when the
cell starts, with an error that names the key and suggests the right one, where Hydra's own
validation would stop composition with a message about OmegaConf types.

Every other key must be in the node (the defaults node writes those with a default). A field with
`implied=True` is optional: its default applies when the key is absent, without being written into
every composed node (so composed configs, and the cells' identities, stay as they were).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import II

# A `_target_` node (or a plain mapping of them): what the type check accepts as a mapping.
Node = dict[str, Any]
# How stages validate and stop (stilts.schedule, conf/schedule/).
SCHEDULE_STYLES = ("jiant", "epochs")


def setting(default: Any = dataclasses.MISSING, *, implied: bool = False, **rule: Any) -> Any:
    """A schema field: its default (mutable defaults are copied) and its rule, read by
    `stilts.schema_check`: `low`/`high` bounds (`low_open`, `high_open` for strict ones), `choices`,
    `single` (a tuple field that also takes one value), `implied` (see the module docstring)."""
    metadata = {**rule, "implied": implied}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class TaskSettings:
    """A task node (conf/task/<name>.yaml). Defaults are the paper's (jiant base_roberta.conf,
    defaults.conf); a task yaml overrides what differs and the command line may set any of them
    (e.g. `target.max_epochs=3`)."""

    name: str = setting()
    probing: bool = setting(False)
    family: str | None = setting(None)  # the task's group in the analysis (conf/task_family/)
    origin: Any = setting(None, implied=True)  # where the data comes from, for error messages
    labels: tuple[str, ...] = setting((), implied=True)  # label names in index order
    labels_from_train: bool = setting(False, implied=True)  # labels: the training split's sorted set
    # The instantiable parts (`_target_` nodes, checked against their callables' signatures).
    local: Node | None = setting(None, implied=True)  # reader of the local files
    hub: Node | None = setting(None, implied=True)  # reader of the Hub dataset
    featurizer: Node = setting()
    head: Node = setting({"_target_": "stilts.models.heads.ClassificationHead"})
    metrics: Node = setting()
    main_metric: tuple[str, ...] = setting("acc", single=True)  # the paper's score: their mean
    # The paper's lr / dropout / batch size per role (`hparams.<role>`); the settings below take the
    # role this slot plays (stilts.config.role_setting): `intermediate` in the intermediate slot,
    # else `probing` or `target`. A task or the command line may set them directly instead.
    hparams: Node | None = setting(None, implied=True)
    lr: float = setting(II("stilts_role:lr"), low=0.0, high=1.0, low_open=True)
    dropout: float = setting(II("stilts_role:dropout"), low=0.0, high=1.0)
    batch_size: int = setting(II("stilts_role:batch_size"), low=1)
    # How long a stage trains and when it validates (stilts.schedule; `schedule=jiant` is the paper's:
    # validations only every `val_interval` steps, the epoch limit checked at validations, at most
    # `max_vals` validations, stop at the (patience + 1)-th validation without improvement). An
    # intermediate stage uses conf/schedule/jiant.yaml's settings whatever its task says (jiant).
    # jiant's base_roberta.conf:27; COPA, CB and WSC set 40 (its lines 44-70); null: none (edge probing)
    max_epochs: int | None = setting(10, low=1)
    val_interval: int = setting(5000, low=1)  # base_roberta.conf:34 target_train_val_interval
    max_vals: int = setting(1000, low=1)  # jiant defaults.conf:384 target_train_max_vals
    # Mid-training validation on the first N dev instances as jiant counts them (defaults.conf:158;
    # null: all); jiant shuffled some tasks' dev lists with random.Random(seed) before the limit.
    val_limit: int | None = setting(5000, low=1)
    val_shuffle_seed: int | None = setting(None, low=0)
    patience: int = setting(20, low=0)  # early stopping, validations without improvement (:31)
    train_size: int | None = setting(None, low=1)  # a seeded random subset of N training examples
    # The task's own optimisation (conf/optim/), replacing the run's `optim` for its stages
    # (edge probing: jiant's base_edgeprobe recipe).
    optim: Node | None = setting(None, implied=True)


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """A model node (conf/model/<name>.yaml): a model yaml states only what is its own."""

    name: str = setting()
    pretrained: str = setting()  # Hub id or a local folder
    revision: Any = setting(None)  # Hub revision of `pretrained`
    tokenizer: Any = setting(None)  # null: the tokenizer of `pretrained`; else an asset, folder or Hub id
    architecture: Any = setting(None)  # the config.json random_init=true builds from (asset, folder, Hub id)
    attn_implementation: str = setting("sdpa")
    # head: the grid's dropout before the head only, the encoder keeps its own (jiant); every_layer
    dropout_placement: str = setting("head", choices=("head", "every_layer"))
    random_init: bool = setting(False)
    encoder_weights: Any = setting(None)  # safetensors of an earlier stilts stage to start from (e.g. MLM)
    max_length: int = setting(256, low=8)
    # segment: each text segment cut to max_length - 2 tokens on its own, then the boundary tokens
    #   added (the paper's: jiant v1 tokenize_and_truncate, utils/data_loaders.py:302-311), so a pair
    #   may hold 2 x 254 text tokens (capped at the encoder's positions). pair: the whole sequence cut
    #   to max_length, longest segment first (stilts' earlier rule). stilts/tasks/truncation.py.
    truncation: str = setting("segment", choices=("segment", "pair"))
    kwargs: Node | None = setting({})  # keyword arguments of the encoder's from_pretrained


@dataclass(frozen=True, kw_only=True)
class ForgettingSettings:
    """`forgetting:` in conf/train.yaml (its values and their meaning are there)."""

    enabled: bool = setting()
    text: str = setting()
    max_sentences: int = setting(low=1)
    batch_size: int = setting(low=1)
    mask_probability: float = setting(low=0.0, high=1.0, low_open=True)
    seed: int = setting(low=0)
    max_tokens: int = setting(low=2)
    mlm_head: Any = setting()


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """`schedule:` (conf/schedule/)."""

    style: str = setting(choices=SCHEDULE_STYLES)


@dataclass(frozen=True, kw_only=True)
class DataSettings:
    """`data:` in conf/train.yaml (its values are there)."""

    source: str = setting(choices=("auto", "local", "hub"))
    num_workers: int = setting(low=0)
    length_grouped: bool = setting()


@dataclass(frozen=True, kw_only=True)
class RootSettings:
    """The top level of a cell's config: conf/train.yaml sets every key (its values and their
    meaning are there), an experiment may add `paper_tasks`. The task, control, trainer, optim,
    callbacks and logger nodes are checked on their own (stilts.validate)."""

    intermediate: Node = setting()
    target: Node = setting()
    model: ModelSettings = setting()
    optim: Node = setting()
    control: Node = setting()
    schedule: ScheduleSettings | None = setting()
    trainer: Node = setting()
    callbacks: Node | None = setting()
    logger: Node | None = setting()
    paths: Node = setting()
    selected_hparams: Node | None = setting()
    restart: Any = setting()  # its range depends on `seeds` (stilts.validate.check_restart)
    seed: int | None = setting(low=0)
    seeds: Node = setting()
    data: DataSettings = setting()
    keep_checkpoints: bool = setting()
    save_encoder: bool = setting()
    forgetting: ForgettingSettings | None = setting()
    force: bool = setting()
    cell_name: Any = setting()
    sweep_name: Any = setting()
    stage: Node = setting()
    paper_tasks: Any = setting(None, implied=True)  # the paper's task lists (conf/paper_tasks.yaml)


def defaults_node(schema: type) -> dict[str, Any]:
    """The keys of `schema` that every composed node holds, with their defaults."""
    node = {}
    for f in dataclasses.fields(schema):
        if f.metadata.get("implied"):
            continue
        if f.default is not dataclasses.MISSING:
            node[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            node[f.name] = f.default_factory()
    return node


def register_schemas() -> None:
    """Register `task_defaults` and `model_defaults` in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="task_defaults", node=defaults_node(TaskSettings))
    store.store(name="model_defaults", node=defaults_node(ModelSettings))
