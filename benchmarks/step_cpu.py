"""`python -m benchmarks.step_cpu`: CPU time per training step of stilts' path and the raw loop, in turns.

One process writes synthetic RTE data of the headline length distribution and trains one epoch with
each runner of benchmarks.runners (`raw_grouped`, `stilts`) per round, alternating their order, timing
the epoch in the process' CPU time instead of wall time: on a machine shared with other work the wall
clock mostly measures the others. Run it with two checkouts on PYTHONPATH, one after the other or at
the same time, to compare their per-step overhead under the same conditions (an A/B of a change).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import types
from pathlib import Path

from benchmarks import runners
from benchmarks.run import LENGTHS
from benchmarks.synthetic import Lengths, write_rte


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--lengths", default=LENGTHS[0])
    ns = p.parse_args()
    from transformers import AutoTokenizer

    from stilts.config import asset_path

    lengths = Lengths.parse(ns.lengths)
    root = Path(tempfile.mkdtemp(prefix="stilts-step-cpu-"))
    write_rte(
        root / "data" / "rte",
        AutoTokenizer.from_pretrained(asset_path("tiny_roberta")),
        ns.train_size,
        lengths,
    )
    folders = {k: str(root / k) for k in ("data", "cache", "work")}
    setting = runners.Setting(
        data_dir=folders["data"],
        cache_dir=folders["cache"],
        work_dir=folders["work"],
        max_length=lengths.max_tokens,
        threads=1,
    )
    runners.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]
    runners.run_raw(setting)  # featurize and warm up
    ms: dict[str, list[float]] = {"raw_grouped": [], "stilts": []}
    for round_ in range(ns.rounds):
        for name in ms if round_ % 2 == 0 else list(ms)[::-1]:
            result = runners.RUNNERS[name](setting)
            ms[name].append(1000 * result["epoch_s"] / result["steps"])
    # stilts' throughput over the raw loop's in each round (the inverse ratio of CPU time per step)
    ratios = [raw / ours for raw, ours in zip(ms["raw_grouped"], ms["stilts"], strict=True)]
    print(json.dumps({"cpu_ms_per_step": ms, "stilts_over_raw": ratios, "median": statistics.median(ratios)}))


if __name__ == "__main__":
    main()
