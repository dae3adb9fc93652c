"""`python -m benchmarks.parity`: stilts against Hugging Face's Trainer on real data, same recipe.

MiniLM (`model=minilm`) on RTE, CB, SST-2 (a seeded sample of its training file) and COPA; each task
and seed trained once through `stilts-train` and once through `transformers.Trainer`, each run in a
fresh process (benchmarks.parity_runs). Finished runs are kept in `--work` and skipped when the
command is run again, so an interrupted benchmark resumes. Writes every run and the summary to
`--results` and the table into `--doc` (docs/parity.md, between its markers).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from benchmarks.parity_data import TASKS, majority_score, write_data_dir
from benchmarks.parity_report import markdown, summarise, write_doc
from benchmarks.parity_runs import ROOT, SIDES, Recipe, report, run_once


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="rte,cb,sst2,copa", help="comma-separated, of " + ",".join(TASKS))
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 on each side")
    p.add_argument("--sst2-train", type=int, default=8000, help="SST-2 training sentences (seeded sample)")
    p.add_argument("--train-limit", type=int, default=None, help="cut every training file to N rows")
    p.add_argument("--epochs", type=int, default=0, help="0: the recipe's (3; CB and COPA 10)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=2, help="torch threads per run")
    p.add_argument("--parallel", action="store_true", help="two runs at a time (use with --threads 1)")
    p.add_argument("--sides", default=",".join(SIDES), help="comma-separated; one alone: an experiment")
    p.add_argument("--stilts-head", choices=("pooler", "first"), default="pooler")
    p.add_argument("--stilts-head-init-std", type=float, default=None,
                   help="stilts' output layer from N(0, STD), zero bias (the Trainer's: 0.02)")  # fmt: skip
    p.add_argument("--stilts-random-batches", action="store_true", default=None,
                   help="stilts on random batches (the Trainer's order), not length-grouped")  # fmt: skip
    p.add_argument("--source", default=str(ROOT.parent / "shared" / "realdata" / "full"))
    p.add_argument("--work", default=str(ROOT / "benchmarks" / "work" / "parity"))
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "parity_results.json"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "parity.md"))
    return p.parse_args()


def settings(ns: argparse.Namespace, recipe: Recipe) -> dict:
    sizes = {t: ns.train_limit if ns.train_limit else (ns.sst2_train if t == "sst2" else None) for t in TASKS}
    # Unset options are left out, so a work folder made before an option existed stays valid.
    fields = {key: value for key, value in asdict(recipe).items() if value is not None}
    return {
        "source": str(Path(ns.source).resolve()),
        "train_sizes": sizes,
        "sample_seed": 0,
        **fields,
    }


def main() -> None:
    ns = parse()
    recipe = Recipe(lr=2e-5, batch_size=16, max_length=ns.max_length, epochs=ns.epochs, threads=ns.threads,
                    stilts_head=ns.stilts_head, stilts_head_init_std=ns.stilts_head_init_std,
                    stilts_random_batches=ns.stilts_random_batches)  # fmt: skip
    tasks = [t.strip() for t in ns.tasks.split(",") if t.strip()]
    if unknown := [t for t in tasks if t not in TASKS]:
        raise SystemExit(f"--tasks: unknown {unknown}; choose from {', '.join(TASKS)}")
    sides = [s.strip() for s in ns.sides.split(",") if s.strip()]
    if not sides or any(s not in SIDES for s in sides):
        raise SystemExit(f"--sides: give one or both of {', '.join(SIDES)} (got {ns.sides!r})")
    work, setup = Path(ns.work), settings(ns, recipe)
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "settings.json"
    if stamp.exists() and json.loads(stamp.read_text()) != setup:
        raise SystemExit(
            f"{work} holds runs made with other settings ({stamp}); give another --work or delete it"
        )
    stamp.write_text(json.dumps(setup, indent=1))
    data = write_data_dir(Path(ns.source), work / "data", setup["train_sizes"], setup["sample_seed"])
    jobs = [(t, s, side) for t in tasks for s in range(ns.seeds) for side in sides]
    records, started = [], time.perf_counter()
    # --parallel: two runs at a time (both cores busy throughout), reported in order.
    with ThreadPoolExecutor(max_workers=2 if ns.parallel else 1) as pool:
        futures = [pool.submit(run_once, recipe, data, work, *job) for job in jobs]
        for k, ((task, seed, side), future) in enumerate(zip(jobs, futures, strict=True), 1):
            try:
                record, fresh = future.result()
            except BaseException:  # a failed run stops the benchmark: no new runs start
                for waiting in futures:
                    waiting.cancel()
                raise
            records.append(record)
            print(f"[{k}/{len(jobs)}] {task} seed {seed} {side}: {report(record, fresh)} "
                  f"(elapsed {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    majority = {t: majority_score(TASKS[t], data) for t in tasks}
    summary = summarise(records, majority)
    meta = {"settings": setup, "metrics": {t: TASKS[t].metric for t in tasks}}
    Path(ns.results).write_text(json.dumps({**meta, "summary": summary, "runs": records}, indent=1))
    write_doc(Path(ns.doc), markdown(summary, meta))
    print(markdown(summary, meta))


if __name__ == "__main__":
    main()
