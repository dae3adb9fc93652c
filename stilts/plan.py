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
included, exactly as `stilts-train` decides to skip it. Exits 2 on a config error.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from stilts.config import CONF_DIR, register_resolvers
from stilts.errors import ConfigError, StiltsError
from stilts.result import RESULT, RecordError, read_result

log = logging.getLogger("stilts")
# Overrides that decide which intermediate encoder a cell needs (besides the model, fixed per sweep),
# a control against forgetting (`control=...`, `control.*`) included.
INTERMEDIATE_KEYS = ("task@intermediate", "intermediate.", "restart", "seed", "seeds", "control")
STATUSES = ("finished", "failed", "to run", "invalid")


@dataclass(frozen=True)
class Job:
    """One job of the sweep and where it stands."""

    overrides: tuple[str, ...]
    status: str  # one of STATUSES
    run_dir: Path | None = None
    note: str = ""
    stages: tuple[str, ...] = ()  # per stage: task, role and its training settings (--list)

    @property
    def needs_intermediate(self) -> tuple[str, ...] | None:
        """What identifies its intermediate training; None for a baseline cell."""
        if "task@intermediate=none" in self.overrides or not any(
            o.startswith("task@intermediate=") for o in self.overrides
        ):
            return None
        return tuple(sorted(o for o in self.overrides if o.startswith(INTERMEDIATE_KEYS)))


def expand(arguments: list[str]) -> tuple[list[list[str]], Path]:
    """The override list of every job of the sweep, and the sweep folder."""
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(arguments) if not o.is_sweep_override()]
    base = compose("train", overrides=fixed, return_hydra_config=True)
    params = [f"{key}={value}" for key, value in (base.hydra.sweeper.params or {}).items()]
    # Hydra's own expansion (an internal API, used so the plan can never disagree with the sweep).
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides([*params, *arguments]), None)
    return jobs, Path(base.hydra.sweep.dir)


@cache
def _tokenizer(model_yaml: str) -> Any:
    from stilts.models.encoder import load_tokenizer

    return load_tokenizer(OmegaConf.create(model_yaml))


def job_status(overrides: list[str]) -> Job:
    """Compose one job, name its run dir, and compare a result there with the cell's identity."""
    from stilts.pipeline import prepare_cell
    from stilts.validate import check_config

    cfg = compose("train", overrides=overrides, return_hydra_config=True)
    run_dir = Path(cfg.hydra.sweep.dir) / str(cfg.hydra.sweep.subdir)
    job = tuple(overrides)
    try:
        check_config(_plain(cfg))
        stages = stage_settings(_plain(cfg))
    except StiltsError as err:
        return Job(job, "invalid", run_dir, str(err))
    try:
        result = read_result(run_dir / RESULT)
    except RecordError as err:
        return Job(job, "to run", run_dir, f"{err}; it will be rerun", stages)
    if result is None:
        return Job(job, "to run", run_dir, stages=stages)
    try:
        identity = prepare_cell(_plain(cfg), _tokenizer(OmegaConf.to_yaml(cfg.model, resolve=True))).identity
    except StiltsError as err:
        return Job(job, "to run", run_dir, f"cannot be checked: {err}")
    if result.finishes(identity.digest):
        return Job(job, "finished", run_dir, stages=stages)
    if result.status == "failed":
        return Job(job, "failed", run_dir, str(result.error), stages)
    return Job(job, "to run", run_dir, "its result is of other data or settings; it will be rerun", stages)


def stage_settings(cfg: DictConfig) -> tuple[str, ...]:
    """What each stage of the cell trains with, as `stilts-train` would (for `--list`)."""
    from stilts.identity import stage_seed
    from stilts.schedule import schedule_style
    from stilts.stage import stage_optim
    from stilts.tasks.spec import NO_TASK, TaskSpec

    stages = []
    for slot in ("intermediate", "target"):
        if cfg[slot].get("name") == NO_TASK:
            continue
        spec = TaskSpec.from_config(cfg[slot], key=slot)
        role = "intermediate" if slot == "intermediate" else spec.role
        optimizer = str(stage_optim(cfg, spec).optimizer._target_).rsplit(".", 1)[-1]
        epochs = "none" if spec.max_epochs is None else spec.max_epochs
        stages.append(
            f"{role} {spec.name}: lr {spec.lr:g} dropout {spec.dropout:g} batch {spec.batch_size} "
            f"epochs {epochs} val every {spec.val_interval} (at most {spec.max_vals}) "
            f"patience {spec.patience} {optimizer} schedule {schedule_style(cfg)} "
            f"precision {cfg.trainer.precision} seed {stage_seed(cfg, role)}"
        )
    return tuple(stages)


def _plain(cfg: DictConfig) -> DictConfig:
    """The job's config without the `hydra` node, as the task function sees it."""
    node = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    return node


def plan(arguments: list[str], detailed: bool = False) -> list[Job]:
    """Every job of the sweep `arguments` describe, with its status. Jobs are composed (to name their
    run dirs, check their results and, when `detailed`, list their stages' settings) only when the
    sweep folder holds runs or `detailed` is set: otherwise a fresh sweep is all "to run", and its
    configs are checked when each job starts."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        jobs, sweep_dir = expand(arguments)
        fresh = not sweep_dir.is_dir() or not any(p.is_dir() for p in sweep_dir.iterdir())
        if fresh and not detailed:
            return [Job(tuple(o), "to run") for o in jobs]
        return [job_status(o) for o in tqdm(jobs, desc="checking cells", unit="cell", disable=len(jobs) < 50)]


def summary(jobs: list[Job]) -> str:
    statuses = Counter(j.status for j in jobs)
    intermediates = {j.needs_intermediate for j in jobs} - {None}
    waiting = {j.needs_intermediate for j in jobs if j.status != "finished"} - {None}
    counts = ", ".join(f"{statuses[s]} {s}" for s in STATUSES if s != "invalid" or statuses[s])
    return "\n".join(
        [
            f"{len(intermediates)} intermediate trainings ({len(waiting)} still needed by unfinished cells)",
            f"{len(jobs)} downstream runs: {counts}",
        ]
    )


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
    sys.stdout.write(summary(jobs) + "\n")


if __name__ == "__main__":
    main()
