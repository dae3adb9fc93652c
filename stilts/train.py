"""`stilts-train`: run one cell (or, with -m, a sweep of cells) of the transfer study.

stilts-train task@intermediate=mnli task@target=rte
stilts-train -m task@intermediate=none,mnli task@target=rte,cb restart=0,1,2
"""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from stilts.config import CONF_DIR, register_resolvers
from stilts.errors import StiltsError

log = logging.getLogger("stilts")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def run(cfg: DictConfig) -> float:
    from stilts.pipeline import run_cell  # heavy imports after Hydra has parsed the command line

    try:
        result = run_cell(cfg, HydraConfig.get().runtime.output_dir)
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    return float(result["main"])


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
