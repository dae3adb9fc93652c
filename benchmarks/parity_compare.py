"""`python -m benchmarks.parity_compare BASE ARM...`: experiments on one side against a full benchmark.

BASE is the results file of a full run of `benchmarks.parity` (both sides); each ARM is the results
file of a run of the stilts side alone (`--sides stilts`) with one setting changed (e.g.
`--stilts-head-init-std 0.02`), on the same data, length and seeds. Per task, the markdown table
gives each arm's mean dev score after the first two epochs and at the end, and its difference from
the Trainer runs of BASE with a 95% Welch interval, at the end and after the first epoch (where the
two sides differ most).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.parity_report import SIDES, difference, difference_text, pct

# Settings that may differ between BASE and an arm without making them incomparable.
ARM_SETTINGS = ("stilts_head", "stilts_head_init_std", "stilts_random_batches")


def arm_label(base: dict[str, Any], arm: dict[str, Any]) -> str:
    """What an arm changed, from its settings; refuses an arm whose data or recipe differ."""
    changed = sorted(set(base) | set(arm), key=str)
    changed = [k for k in changed if base.get(k) != arm.get(k)]
    if other := [k for k in changed if k not in ARM_SETTINGS]:
        raise SystemExit(f"an arm differs from the base in {other}: not comparable (only {ARM_SETTINGS})")
    return ", ".join(f"{k}={arm.get(k)}" for k in changed) or "the base's settings"


def row(task: str, label: str, runs: list[dict[str, Any]], trainer: list[dict[str, Any]] | None) -> str:
    first, second = ([r["epoch_scores"][k] for r in runs] for k in (0, 1))
    end = [r["score"] for r in runs]
    sd = f" ({pct(statistics.stdev(end))})" if len(end) > 1 else ""
    cells = [task, label, str(len(runs)), pct(statistics.fmean(first)), pct(statistics.fmean(second)),
             pct(statistics.fmean(end)) + sd]  # fmt: skip
    if trainer is None:
        cells += ["-", "-"]
    else:
        cells += [
            difference_text(difference(end, [r["score"] for r in trainer])),
            difference_text(difference(first, [r["epoch_scores"][0] for r in trainer])),
        ]
    return "| " + " | ".join(cells) + " |"


def compare(base: dict[str, Any], arms: list[dict[str, Any]]) -> str:
    lines = [
        "| task | runs | seeds | after epoch 1 | after epoch 2 | end, mean (sd) "
        "| end minus Trainer [95% CI] | epoch 1 minus Trainer [95% CI] |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = [arm_label(base["settings"], arm["settings"]) for arm in arms]
    for task in dict.fromkeys(r["task"] for r in base["runs"]):
        task_runs = [r for r in base["runs"] if r["task"] == task]
        side = {s: [r for r in task_runs if r["side"] == s] for s in SIDES}
        lines.append(row(task, "Trainer", side["trainer"], None))
        lines.append(row(task, "stilts", side["stilts"], side["trainer"]))
        for label, arm in zip(labels, arms, strict=True):
            runs = [r for r in arm["runs"] if r["task"] == task and r["side"] == "stilts"]
            if runs:
                lines.append(row(task, f"stilts, {label}", runs, side["trainer"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="results of a full run (both sides)")
    p.add_argument("arms", nargs="+", help="results of stilts-only runs, one setting changed")
    ns = p.parse_args()
    read = [json.loads(Path(path).read_text()) for path in (ns.base, *ns.arms)]
    print(compare(read[0], read[1:]), end="")


if __name__ == "__main__":
    main()
