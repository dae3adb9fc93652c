"""`stilts-select-hparams`: pick each task's best lr x dropout point from a finished sweep.

    stilts-select-hparams multirun/hparam_sweep                          # show the best point per task
    stilts-select-hparams multirun/hparam_sweep --write stilts_conf      # write them as a config
    stilts-train -m experiment=paper_grid selected_hparams=hparam_sweep hydra.searchpath=[file://stilts_conf]

The best point has the highest mean `main` over its finished runs (ties: the larger learning rate
first, as listed in the paper's grid). `--write DIR` writes the points to
`DIR/selected_hparams/<sweep name>.yaml`, by task and role (`target`, or the task's only role in its
yaml); selecting that file (`selected_hparams=<sweep name>`, with DIR on Hydra's search path) makes
them win over the task yamls' own `hparams`. The task yamls are never edited.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean

from omegaconf import OmegaConf

from stilts.config import CONF_DIR
from stilts.result import RESULT, RecordError, read_result

log = logging.getLogger("stilts")
Point = tuple[float, float]  # (lr, dropout)


def best_points(sweep_dir: Path) -> dict[str, tuple[Point, float, int]]:
    """Task -> (best (lr, dropout), its mean main score, number of runs) over finished results."""
    scores: dict[str, dict[Point, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sweep_dir.rglob(RESULT):
        if any(part.startswith(".") for part in path.relative_to(sweep_dir).parts):
            continue  # superseded runs
        try:
            result = read_result(path)
        except RecordError as err:
            log.warning("left out: %s", err)
            continue
        if result is None or result.status != "finished" or result.intermediate != "none":
            continue
        lr, dropout, main = result.hparams.lr, result.hparams.dropout, result.main
        if lr is None or dropout is None or main is None or result.task is None:
            log.warning("left out: %s has no lr, dropout or main score", path)
            continue
        scores[result.task][(lr, dropout)].append(main)
    best = {}
    for task, by_point in scores.items():
        point = max(by_point, key=lambda p: (mean(by_point[p]), p))
        best[task] = (point, mean(by_point[point]), len(by_point[point]))
    return best


def selected_role(task: str, conf_dir: Path = CONF_DIR) -> str:
    """The role a sweep's point is for: `target` (or `probing`) when the task yaml has it, else the
    yaml's only role (e.g. `intermediate` for an intermediate-only task trained alone)."""
    path = conf_dir / "task" / f"{task}.yaml"
    roles = list((OmegaConf.load(path).get("hparams") or {}).keys()) if path.is_file() else []
    for role in ("target", "probing"):
        if role in roles:
            return role
    return roles[0] if len(roles) == 1 else "target"


def write_selection(best: dict[str, tuple[Point, float, int]], sweep_dir: Path, out_dir: Path) -> Path:
    """Write the points as `out_dir/selected_hparams/<sweep name>.yaml` and return its path."""
    table = {
        task: {selected_role(task): {"lr": lr, "dropout": dropout}}
        for task, ((lr, dropout), _, _) in sorted(best.items())
    }
    path = out_dir / "selected_hparams" / f"{sweep_dir.resolve().name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    written = time.strftime("%Y-%m-%d %H:%M")
    header = (
        f"# Written by stilts-select-hparams from {sweep_dir.resolve()} on {written}:\n"
        "# each task's best lr x dropout point (highest mean `main`), by role. Select it with\n"
        f"# `selected_hparams={path.stem} hydra.searchpath=[file://{out_dir.resolve()}]`.\n"
    )
    path.write_text(header + OmegaConf.to_yaml(OmegaConf.create(table)))
    return path


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="stilts-select-hparams", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument(
        "--write", type=Path, metavar="DIR", help="write the points to DIR/selected_hparams/<sweep>.yaml"
    )
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        log.error("stilts-select-hparams: %s is not a folder", args.sweep_dir)
        sys.exit(2)
    best = best_points(args.sweep_dir)
    if not best:
        log.error("stilts-select-hparams: no finished baseline runs under %s", args.sweep_dir)
        sys.exit(2)
    for task, ((lr, dropout), score, runs) in sorted(best.items()):
        sys.stdout.write(f"{task:15s} lr {lr:g}  dropout {dropout:g}  mean main {score:.4f} ({runs} runs)\n")
    if args.write:
        path = write_selection(best, args.sweep_dir, args.write)
        sys.stdout.write(
            f"wrote {path}; use it with: selected_hparams={path.stem} "
            f"hydra.searchpath=[file://{args.write.resolve()}]\n"
        )


if __name__ == "__main__":
    main()
