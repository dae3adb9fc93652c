"""`stilts-select-hparams`: pick each task's best lr x dropout point from a finished sweep.

    stilts-select-hparams multirun/hparam_sweep            # show the best point per task
    stilts-select-hparams multirun/hparam_sweep --write    # write it into conf/task/<task>.yaml

The best point has the highest mean `main` over its finished runs (ties: the larger learning rate
first, as listed in the paper's grid). `--write` rewrites lr and dropout in the task yaml's
`hparams:` entry of the role the sweep trained it in (`target`, or the task's only role), and leaves
a comment naming the sweep.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean

from stilts.config import CONF_DIR

log = logging.getLogger("stilts")
Point = tuple[float, float]  # (lr, dropout)


def best_points(sweep_dir: Path) -> dict[str, tuple[Point, float, int]]:
    """Task -> (best (lr, dropout), its mean main score, number of runs) over finished results."""
    scores: dict[str, dict[Point, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sweep_dir.rglob("result.json"):
        result = json.loads(path.read_text())
        if result.get("status") != "finished" or result.get("intermediate") != "none":
            continue
        point = (float(result["hparams"]["lr"]), float(result["hparams"]["dropout"]))
        scores[result["task"]][point].append(float(result["main"]))
    best = {}
    for task, by_point in scores.items():
        point = max(by_point, key=lambda p: (mean(by_point[p]), p))
        best[task] = (point, mean(by_point[point]), len(by_point[point]))
    return best


ROLE_LINE = re.compile(r"^  (intermediate|target|probing): \{(.*)\}.*$", re.MULTILINE)


def write_point(task_yaml: Path, point: Point, source: Path) -> None:
    """Rewrite lr and dropout of the yaml's `hparams.target` line (or its only role's line), keeping
    everything else as it was."""
    text = task_yaml.read_text()
    lines = {match.group(1): match for match in ROLE_LINE.finditer(text)}
    if not lines:
        raise KeyError(f"{task_yaml}: no `hparams:` role line (`  target: {{lr: ..., ...}}`) to replace")
    match = lines.get("target") or (next(iter(lines.values())) if len(lines) == 1 else None)
    if match is None:
        raise KeyError(f"{task_yaml}: `hparams:` has {sorted(lines)} but no `target` line")
    fields = match.group(2)
    for key, value in (("lr", point[0]), ("dropout", point[1])):
        fields, count = re.subn(rf"\b{key}: [^,}}]+", f"{key}: {value!r}", fields, count=1)
        if not count:
            raise KeyError(f"{task_yaml}: the `{match.group(1)}` line has no `{key}:`")
    line = f"  {match.group(1)}: {{{fields}}}  # selected by stilts-select-hparams from {source}"
    task_yaml.write_text(text[: match.start()] + line + text[match.end() :])


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="stilts-select-hparams", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--write", action="store_true", help="write the points into the task yamls")
    parser.add_argument("--conf-dir", type=Path, default=CONF_DIR, help="the conf/ folder to edit")
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
            write_point(args.conf_dir / "task" / f"{task}.yaml", (lr, dropout), args.sweep_dir)


if __name__ == "__main__":
    main()
