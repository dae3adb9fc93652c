"""`stilts-data`: inspect and validate a task's data before spending GPU hours on it.

Exits 2 when a split a run needs (train, val) is missing or unreadable, or any split's data is wrong.

stilts-data task=rte paths.data_dir=D
stilts-data task=rte format=json
"""

from __future__ import annotations

import json
import logging
import sys

import hydra
from omegaconf import DictConfig

from stilts.config import CONF_PACKAGE, register_resolvers
from stilts.errors import StiltsError

log = logging.getLogger("stilts")


@hydra.main(version_base="1.3", config_path=CONF_PACKAGE, config_name="data")
def run(cfg: DictConfig) -> None:
    from stilts.models.encoder import load_tokenizer
    from stilts.tasks.datamodule import TaskDataModule
    from stilts.tasks.report import data_report, format_text
    from stilts.tasks.spec import TaskSpec

    try:
        spec = TaskSpec.from_config(cfg.task, key="task")
        datamodule = TaskDataModule(
            spec,
            load_tokenizer(cfg.model),
            cfg.paths.data_dir,
            cfg.paths.cache_dir,
            source=cfg.data.source,
            max_length=cfg.model.max_length,
            truncation=cfg.model.truncation,
        )
        report = data_report(datamodule, list(cfg.splits))
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    text = json.dumps(report, indent=2) if cfg.format == "json" else format_text(report)
    sys.stdout.write(text + "\n")
    if report["problems"]:
        for problem in report["problems"]:
            log.error("%s", problem)
        log.error("task `%s`: a run would fail on this data; fix the problems above", spec.name)
        sys.exit(2)


def main() -> None:
    register_resolvers()
    run()


if __name__ == "__main__":
    main()
