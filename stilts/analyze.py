"""`stilts-analyze`: figures (PNG + PDF), CSV tables and report.md for one results source.

stilts-analyze source=multirun/paper_grid out=analysis
stilts-analyze source=wandb:ENTITY/PROJECT
stilts-analyze source=paper:path/to/figure2.csv out=paper_figure2
stilts-analyze source=multirun/real_mini paper=path/to/figure2.csv   (adds the comparison with the paper)
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from stilts.config import CONF_PACKAGE, register_resolvers
from stilts.errors import StiltsError

log = logging.getLogger("stilts")


@hydra.main(version_base="1.3", config_path=CONF_PACKAGE, config_name="analyze")
def run(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "source"):
        log.error(
            "source: missing; give source=<sweep folder | wandb:ENTITY/PROJECT | offline W&B folder | "
            "paper:path/to/figure2.csv>"
        )
        sys.exit(2)
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window from a CLI
    from stilts.analysis.runner import run_analysis  # heavy imports after Hydra has parsed the command line

    try:
        outputs = run_analysis(
            cfg.source,
            cfg.out,
            resamples=int(cfg.bootstrap.resamples),
            seed=int(cfg.bootstrap.seed),
            alpha=float(cfg.alpha),
            paper=cfg.get("paper"),
            notes=cfg.get("notes"),
        )
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    sys.stdout.write(outputs.summary() + "\n")  # the CLI's final summary, as the user expects on stdout


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
