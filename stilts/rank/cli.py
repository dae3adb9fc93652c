"""`stilts-rank`: rank candidate intermediate tasks for a target, or evaluate rankings on a grid.

stilts-rank task@target=rte candidates=[mnli,commonsenseqa,sst2] method=logme
stilts-rank experiment=demo_selection evaluate=multirun/demo_selection methods=[logme,hscore,semb]
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from stilts.config import CONF_PACKAGE, register_resolvers
from stilts.errors import StiltsError

log = logging.getLogger("stilts")
SLOTS = ("task@intermediate=", "task@target=")


def composer(overrides: list[str]):
    """compose(target, candidate) -> the config `stilts-train` composes with the same overrides
    and `task@target=target task@intermediate=candidate`: the grid's cache keys and settings."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(SLOTS)]

    def compose(target: str, candidate: str = "none") -> DictConfig:
        extra = [f"task@target={target}", f"task@intermediate={candidate}"]
        return hydra.compose(config_name="rank", overrides=[*kept, *extra])

    return compose


@hydra.main(version_base="1.3", config_path=CONF_PACKAGE, config_name="rank")
def run(cfg: DictConfig) -> None:
    # Heavy imports after Hydra has parsed the command line, so `--help` and `--cfg` stay fast.
    import matplotlib

    matplotlib.use("Agg")  # files only
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # print each line once (see train.py)
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    from stilts.rank.cli_steps import evaluate_grid, rank_one

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    compose = composer(list(HydraConfig.get().overrides.task))
    try:
        if cfg.get("evaluate"):
            text = evaluate_grid(cfg, compose, run_dir)
        else:
            text = rank_one(cfg, compose, run_dir)
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    sys.stdout.write(text + "\n")  # the CLI's table, on stdout as the user expects


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
