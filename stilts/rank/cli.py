"""`stilts-rank`: rank candidate intermediate tasks for a target, or evaluate rankings on a grid.

stilts-rank task@target=rte candidates=[mnli,commonsenseqa,sst2] method=logme
stilts-rank experiment=demo_selection evaluate=multirun/demo_selection methods=[logme,hscore,semb]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from stilts.config import CONF_PACKAGE, register_resolvers
from stilts.errors import StiltsError

if TYPE_CHECKING:
    from stilts.cell import Cell

log = logging.getLogger("stilts")
SLOTS = ("task@intermediate=", "task@target=")


def composer(overrides: list[str]) -> Callable[..., Cell]:
    """compose(target, candidate) -> the settings of the cell `stilts-train` composes with the same
    overrides and `task@target=target task@intermediate=candidate`: the grid's cache keys and settings.
    Resolved unchecked (stilts.cell.resolve_cell): rank.yaml's own keys are no cell setting."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(SLOTS)]

    def compose(target: str, candidate: str = "none") -> Cell:
        from stilts.cell import resolve_cell

        extra = [f"task@target={target}", f"task@intermediate={candidate}"]
        return resolve_cell(hydra.compose(config_name="rank", overrides=[*kept, *extra]), check=False)

    return compose


@hydra.main(version_base="1.3", config_path=CONF_PACKAGE, config_name="rank")
def run(cfg: DictConfig) -> None:
    # Heavy imports after Hydra has parsed the command line, so `--help` and `--cfg` stay fast.
    import matplotlib

    matplotlib.use("Agg")  # files only
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # print each line once (see train.py)
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    from stilts.cell import resolve_cell
    from stilts.rank.cli_steps import RankRequest, evaluate_grid, rank_one
    from stilts.rank.methods import RankSettings

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    compose = composer(list(HydraConfig.get().overrides.task))
    try:
        request = RankRequest(
            method=str(cfg.method),
            methods=tuple(str(m) for m in cfg.methods or []),
            candidates=tuple(str(c) for c in cfg.candidates or []),
            evaluate=Path(str(cfg.evaluate)) if cfg.get("evaluate") else None,
            targets=tuple(str(t) for t in cfg.targets) if cfg.get("targets") else None,
            out=Path(str(cfg.out)) if cfg.get("out") else None,
            settings=RankSettings.from_node(cfg.rank),
        )
        if request.evaluate is not None:
            text = evaluate_grid(request, compose, run_dir)
        else:
            text = rank_one(resolve_cell(cfg, check=False), request, compose, run_dir)
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    sys.stdout.write(text + "\n")  # the CLI's table, on stdout as the user expects


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
