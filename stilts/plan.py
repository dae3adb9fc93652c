"""`stilts-plan`: what a sweep will run and what is already done, without training anything.

It takes exactly the arguments of `stilts-train` (`-m` included, and ignored: a plan is always of
the sweep), plus `--list`:

    stilts-plan experiment=paper_grid
    stilts-plan -m task@intermediate=none,mnli task@target=rte,cb restart=0,1,2
    stilts-plan experiment=paper_grid task@target=rte,cb restart=0 --list   # each cell's stages:
        lr, dropout, batch size, epochs, validation interval, seed and precision, as stilts-train uses them
    stilts-plan --config-dir my_conf task@target=claims    # your configs on the search path

The sweep is expanded exactly as Hydra's basic sweeper expands `stilts-train -m` with the same
arguments (the experiment's `hydra.sweeper.params`, then the command line's overrides). Each job is
composed and named by its cell identity (stilts.identity), which also names its run dir; a result
there counts as finished only when its digest equals the cell's current one, data fingerprints
included, exactly as `stilts-train` decides to skip it. The intermediate trainings are counted by the
same identity's intermediate-encoder key (without the data part: every cell of a sweep reads a task's
data from the same place). Results and cached encoders of an older key version are counted and
named, not reused (stilts.stale). Exits 2 on a config error.
"""

from __future__ import annotations

import copy
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from stilts.config import CONF_DIR, register_resolvers
from stilts.errors import ConfigError, StiltsError
from stilts.identity import KEY_VERSION, IdentityMaterial, identity_material, short_hash
from stilts.result import RESULT, RecordError, read_result
from stilts.stale import older_entries, older_results

if TYPE_CHECKING:
    from stilts.cell import Cell

log = logging.getLogger("stilts")
STATUSES = ("finished", "failed", "to run", "invalid")
SEARCH_PATH = "hydra.searchpath"


@dataclass(frozen=True)
class Job:
    """One job of the sweep and where it stands."""

    overrides: tuple[str, ...]
    status: str  # one of STATUSES
    run_dir: Path | None = None
    note: str = ""
    stages: tuple[str, ...] = ()  # per stage: task, role and its training settings (--list)
    # A hash of what determines its intermediate encoder besides the data (IdentityMaterial.
    # intermediate_key); None for a baseline cell or a config that cannot be keyed.
    intermediate: str | None = None
    older_results: tuple[Path, ...] = ()  # finished runs of its slot under an older key version
    older_encoders: tuple[Path, ...] = ()  # cached encoders of its intermediate under an older key version


def expand(arguments: list[str]) -> tuple[list[list[str]], Path]:
    """The override list of every job of the sweep, and the sweep folder."""
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(arguments) if not o.is_sweep_override()]
    base = compose("train", overrides=fixed, return_hydra_config=True)
    params = [f"{key}={value}" for key, value in (base.hydra.sweeper.params or {}).items()]
    # Hydra's own expansion (an internal API, used so the plan can never disagree with the sweep).
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides([*params, *arguments]), None)
    return jobs, Path(base.hydra.sweep.dir)


class Composer:
    """Compose a sweep's jobs as Hydra composes them for `stilts-train -m`, each distinct choice of
    config groups once. Hydra builds the config from the defaults list that the group overrides select,
    then applies the other overrides to it (ConfigLoaderImpl._load_configuration_impl); this applies them
    to a copy of the composed choice, with the same Hydra function, so a grid of 1,260 cells composes
    its few hundred group choices instead of every cell."""

    def __init__(self) -> None:
        self.parser = OverridesParser.create()
        self.repository = GlobalHydra.instance().config_loader().repository  # type: ignore[attr-defined]
        self.composed: dict[tuple[str, ...], DictConfig] = {}

    def _is_group(self, override: Override) -> bool:
        """Whether `override` shapes the composition: a choice of config group, as Hydra takes it
        (hydra/_internal/defaults_list.py, `Overrides.__init__`), or the config search path, which
        Hydra reads before composing (`--config-dir` becomes `hydra.searchpath=[...]`)."""
        if override.key_or_group == SEARCH_PATH:
            return True
        return self.repository.group_exists(override.key_or_group) and not isinstance(override.value(), dict)

    def __call__(self, overrides: list[str]) -> DictConfig:
        parsed = self.parser.parse_overrides(overrides)
        groups = tuple(o.input_line for o in parsed if self._is_group(o))
        values = [o for o in parsed if not self._is_group(o)]
        if groups not in self.composed:
            self.composed[groups] = compose("train", overrides=list(groups), return_hydra_config=True)
        if not values:
            return self.composed[groups]  # read only: nothing changes it
        cfg = copy.deepcopy(self.composed[groups])
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        return cfg


@cache
def _tokenizer(model_yaml: str) -> Any:
    from stilts.models.encoder import load_tokenizer

    return load_tokenizer(OmegaConf.create(model_yaml))


def intermediate_of(
    material: IdentityMaterial, cache_dir: Path, task: str
) -> tuple[str | None, tuple[Path, ...]]:
    """What identifies the cell's intermediate training (its identity `material`; None for a
    baseline), and the cache entries of its `task` and seed under `cache_dir` that an older key version
    wrote."""
    if material.intermediate is None:
        return None, ()
    older = older_entries(cache_dir / "intermediate", task, int(material.intermediate["seed"]))
    return short_hash(material.intermediate_key()), tuple(older)


def job_status(compose_job: Composer, overrides: list[str], check: bool) -> Job:
    """Compose one job, name its run dir and key its intermediate training; when `check`, check its
    config and compare a result in its run dir with the cell's identity."""
    from stilts.cell import resolve_cell
    from stilts.pipeline import prepare_cell

    composed = compose_job(overrides)
    # The job's config without the `hydra` node, as the task function sees it.
    cfg = OmegaConf.masked_copy(composed, [k for k in composed.keys() if k != "hydra"])
    run_dir = Path(composed.hydra.sweep.dir) / str(composed.hydra.sweep.subdir)
    job = tuple(overrides)
    try:
        cell = resolve_cell(cfg) if check else None
        try:
            material = identity_material(cfg) if cell is None else cell.identity
            cache_dir = Path(cfg.paths.cache_dir)
            intermediate, encoders = intermediate_of(material, cache_dir, str(cfg.intermediate.name))
        except Exception:  # a config the identity cannot read (e.g. a restart beyond the seeds)
            resolve_cell(cfg)  # names the problem
            raise
        stages = stage_settings(cell) if cell is not None else ()
    except StiltsError as err:
        return Job(job, "invalid", run_dir, str(err))
    known = {"intermediate": intermediate, "older_encoders": encoders, "stages": stages}
    try:
        result = read_result(run_dir / RESULT)
    except RecordError as err:
        return Job(job, "to run", run_dir, f"{err}; it will be rerun", **known)
    if result is None:
        older = tuple(older_results(run_dir))
        note = f"a result of an older key version is in {older[0]}; it is not reused" if older else ""
        return Job(job, "to run", run_dir, note, older_results=older, **known)
    try:
        cell = cell or resolve_cell(cfg)
        identity = prepare_cell(cell, _tokenizer(OmegaConf.to_yaml(cell.model, resolve=True))).identity
    except StiltsError as err:
        return Job(job, "to run", run_dir, f"cannot be checked: {err}", **known)
    if result.finishes(identity.digest):
        return Job(job, "finished", run_dir, **known)
    if result.status == "failed":
        return Job(job, "failed", run_dir, str(result.error), **known)
    note = "its result is of other data or settings; it will be rerun"
    return Job(job, "to run", run_dir, note, **known)


def stage_settings(cell: Cell) -> tuple[str, ...]:
    """What each stage of the cell trains with, as `stilts-train` would (for `--list`)."""
    stages = []
    for stage in cell.stages():
        spec = stage.spec
        optimizer = str(stage.optim.optimizer._target_).rsplit(".", 1)[-1]
        epochs = "none" if spec.max_epochs is None else spec.max_epochs
        stages.append(
            f"{stage.role} {spec.name}: lr {spec.lr:g} dropout {spec.dropout:g} batch {spec.batch_size} "
            f"epochs {epochs} val every {spec.val_interval} (at most {spec.max_vals}) "
            f"patience {spec.patience} {optimizer} schedule {cell.schedule} "
            f"precision {cell.trainer.precision} seed {stage.seed}"
        )
    return tuple(stages)


def plan(arguments: list[str], detailed: bool = False) -> list[Job]:
    """Every job of the sweep `arguments` describe, with its status. Every job is composed, named and
    keyed by its identity (stilts.identity), as `stilts-train` does; configs are checked and results
    compared only when the sweep folder holds runs or `detailed` is set (otherwise a fresh sweep is all
    "to run", and its configs are checked when each job starts)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        jobs, sweep_dir = expand(arguments)
        check = detailed or (sweep_dir.is_dir() and any(p.is_dir() for p in sweep_dir.iterdir()))
        compose_job = Composer()
        return [
            job_status(compose_job, o, check)
            for o in tqdm(jobs, desc="composing cells", unit="cell", disable=len(jobs) < 50)
        ]


def summary(jobs: list[Job]) -> str:
    statuses = Counter(j.status for j in jobs)
    intermediates = {j.intermediate for j in jobs} - {None}
    waiting = {j.intermediate for j in jobs if j.status != "finished"} - {None}
    counts = ", ".join(f"{statuses[s]} {s}" for s in STATUSES if s != "invalid" or statuses[s])
    lines = [
        f"{len(intermediates)} intermediate trainings ({len(waiting)} still needed by unfinished cells)",
        f"{len(jobs)} downstream runs: {counts}",
    ]
    older_cells = [j for j in jobs if j.older_results]
    older_encoders = {j.intermediate for j in jobs if j.older_encoders and j.status != "finished"} - {None}
    if older_cells or older_encoders:
        lines.append(
            f"older key version (stilts.identity.KEY_VERSION {KEY_VERSION}): {len(older_cells)} cells to run "
            f"and {len(older_encoders)} intermediate trainings have results or cached encoders written "
            "under an older version, which are not reused; --list names them"
        )
    return "\n".join(lines)


# stilts-train's flags that show or do something other than running the sweep: a plan has no use
# for them, so it says so instead of ignoring them.
NOT_PLANNED = {
    "hydra_help": "--hydra-help",
    "cfg": "--cfg",
    "package": "--package",
    "resolve": "--resolve",
    "shell_completion": "--shell-completion",
    "experimental_rerun": "--experimental-rerun",
    "info": "--info",
    "config_path": "--config-path",
}


def parse_arguments(argv: list[str]) -> tuple[list[str], bool, bool]:
    """stilts-train's command line read by Hydra's own parser (so a line copied from `stilts-train -m`
    means the same here), plus `--list`: the overrides to plan, whether to list the cells, and whether
    help was asked for. A flag a plan cannot honour is a ConfigError naming it."""
    from hydra._internal.utils import get_args_parser  # the parser @hydra.main uses

    args = get_args_parser().parse_args([a for a in argv if a != "--list"])
    for attribute, flag in NOT_PLANNED.items():
        if getattr(args, attribute):
            raise ConfigError(f"{flag} does not apply to a plan; use it with stilts-train")
    if args.config_name not in (None, "train"):
        raise ConfigError(f"--config-name {args.config_name}: stilts-plan plans stilts-train's `train`")
    overrides = list(args.overrides)
    if args.config_dir:  # as Hydra does for stilts-train: one more folder on the config search path
        if any(o.startswith("hydra.searchpath=") for o in overrides):
            raise ConfigError("give either --config-dir or hydra.searchpath=[...], not both")
        overrides.append(f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]")
    return overrides, "--list" in argv, bool(args.help)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        arguments, detailed, wants_help = parse_arguments(sys.argv[1:])
        if wants_help:
            sys.stdout.write((__doc__ or "") + "\n")
            return
        jobs = plan(arguments, detailed=detailed)
    except Exception as err:  # noqa: BLE001 - a plan error is a config error: say it plainly
        log.error("stilts-plan: %s", err)
        sys.exit(2)
    if detailed:
        for job in jobs:
            note = f"  ({job.note})" if job.note else ""
            sys.stdout.write(f"{job.status:9s} {' '.join(job.overrides)}{note}\n")
            for stage in job.stages:
                sys.stdout.write(f"          {stage}\n")
            for older in job.older_encoders:
                sys.stdout.write(f"          cached encoder of an older key version: {older}\n")
    sys.stdout.write(summary(jobs) + "\n")


if __name__ == "__main__":
    main()
