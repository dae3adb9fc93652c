"""`stilts-train`: run one cell (or, with -m, a sweep of cells) of the transfer study.

stilts-train task@intermediate=mnli task@target=rte
stilts-train -m task@intermediate=none,mnli task@target=rte,cb restart=0,1,2
stilts-train -m experiment=paper_grid hydra/launcher=slurm
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from stilts.config import CONF_PACKAGE, register_resolvers
from stilts.errors import StiltsError

log = logging.getLogger("stilts")


@hydra.main(version_base="1.3", config_path=CONF_PACKAGE, config_name="train")
def run(cfg: DictConfig) -> float:
    # Heavy imports after Hydra has parsed the command line, so `--help` and `--cfg` stay fast.
    from stilts.cell import resolve_cell
    from stilts.launch import claim_gpu, ddp_job_scope, prepare_ddp_relaunch, share_cpu_threads
    from stilts.pipeline import run_cell
    from stilts.result import RESULT, record_failure

    # Lightning logs through a console handler of its own; Hydra's handlers (console and the run's
    # log file) get the records too, so drop Lightning's to print every line once.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    claim_gpu(cfg.trainer)
    share_cpu_threads()
    prepare_ddp_relaunch(run_dir)
    try:
        with ddp_job_scope():
            # The config is checked and resolved once; the cell runs from its typed settings.
            result = run_cell(resolve_cell(cfg), run_dir)
    except Exception as err:  # one failing cell must not end a sweep: record it, go on
        record_failure(run_dir, cfg, err)
        if isinstance(err, StiltsError):  # a problem of the input, named by the message: no traceback
            log.error("cell %s failed: %s (recorded in %s)", run_dir.name, err, run_dir / RESULT)
        else:
            log.exception("cell %s failed; recorded in %s", run_dir.name, run_dir / RESULT)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            return math.nan
        if isinstance(err, StiltsError):
            sys.exit(2)
        raise
    return float(result["main"])


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
