"""`stilts-plan`: what a sweep will run and what is already done, without training anything.

    stilts-plan experiment=paper_grid
    stilts-plan experiment=paper_grid task@target=rte,cb restart=0 --list

The sweep is expanded exactly as Hydra's basic sweeper expands `stilts-train -m` with the same
arguments (the experiment's `hydra.sweeper.params`, then the command line's overrides). A job is
matched to its run dir by the overrides Hydra saved there (`.hydra/overrides.yaml`); only matched
jobs are composed, to check that their result belongs to the same cell configuration.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from stilts.config import CONF_DIR, register_resolvers
from stilts.runs import RESULT, cell_digest, finished_result

log = logging.getLogger("stilts")
# Overrides that decide which intermediate encoder a cell needs (besides the model, fixed per sweep).
INTERMEDIATE_KEYS = ("task@intermediate", "intermediate.", "restart", "seed", "seeds")


@dataclass(frozen=True)
class Job:
    """One job of the sweep and where it stands."""

    overrides: tuple[str, ...]
    status: str  # finished | failed | to run

    @property
    def needs_intermediate(self) -> tuple[str, ...] | None:
        """What identifies its intermediate training; None for a baseline cell."""
        if "task@intermediate=none" in self.overrides or not any(
            o.startswith("task@intermediate=") for o in self.overrides
        ):
            return None
        return tuple(sorted(o for o in self.overrides if o.startswith(INTERMEDIATE_KEYS)))


def expand(arguments: list[str]) -> tuple[list[list[str]], Path]:
    """The override list of every job, and the sweep folder they run in."""
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(arguments) if not o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = compose("train", overrides=fixed, return_hydra_config=True)
    params = [f"{key}={value}" for key, value in (base.hydra.sweeper.params or {}).items()]
    # Hydra's own expansion (an internal API, used so the plan can never disagree with the sweep).
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides([*params, *arguments]), None)
    return jobs, Path(base.hydra.sweep.dir)


def earlier_runs(sweep_dir: Path) -> dict[frozenset[str], Path]:
    """Run dirs of the sweep folder by the overrides their job was launched with."""
    found = {}
    for saved in sweep_dir.glob("*/.hydra/overrides.yaml") if sweep_dir.is_dir() else []:
        found[frozenset(OmegaConf.load(saved))] = saved.parent.parent
    return found


def job_status(overrides: list[str], run_dir: Path | None) -> str:
    if run_dir is None or not (run_dir / RESULT).is_file():
        return "to run"
    cfg = compose("train", overrides=overrides)
    if finished_result(run_dir, cell_digest(cfg)) is not None:
        return "finished"
    return "failed" if '"status": "failed"' in (run_dir / RESULT).read_text() else "to run"


def plan(arguments: list[str]) -> list[Job]:
    register_resolvers()
    jobs, sweep_dir = expand(arguments)
    runs = earlier_runs(sweep_dir)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return [Job(tuple(o), job_status(o, runs.get(frozenset(o)))) for o in jobs]


def summary(jobs: list[Job]) -> str:
    statuses = Counter(j.status for j in jobs)
    intermediates = {j.needs_intermediate for j in jobs} - {None}
    waiting = {j.needs_intermediate for j in jobs if j.status != "finished"} - {None}
    return "\n".join(
        [
            f"{len(intermediates)} intermediate trainings ({len(waiting)} still needed by unfinished cells)",
            f"{len(jobs)} downstream runs: {statuses['finished']} finished, {statuses['failed']} failed, "
            f"{statuses['to run']} to run",
        ]
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    arguments = [a for a in sys.argv[1:] if a != "--list"]
    try:
        jobs = plan(arguments)
    except Exception as err:  # noqa: BLE001 - a plan error is a config error: say it plainly
        log.error("stilts-plan: %s", err)
        sys.exit(2)
    if "--list" in sys.argv:
        for job in jobs:
            sys.stdout.write(f"{job.status:9s} {' '.join(job.overrides)}\n")
    sys.stdout.write(summary(jobs) + "\n")


if __name__ == "__main__":
    main()
