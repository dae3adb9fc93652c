"""`python -m stilts.rank.testbed`: the ranking testbed (`experiment=demo_selection`), end to end.

1. Data: the demo grammar's corpus and tasks, plus probing tasks derived from the corpus: three
   small downstream probes (targets) and four candidate probes (intermediate tasks).
2. The tiny RoBERTa pre-trained with masked-LM on the corpus (as `make demo` does).
3. The grid, timed: `stilts-train -m experiment=demo_selection`.
4. `stilts-rank experiment=demo_selection evaluate=<grid> rank.grid_wall_s=<its wall time>`: every
   method ranks the 8 candidates for each of the 4 targets and is scored against the grid.

Every step is a normal stilts command and skips work already done.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from stilts.demo.grammar import write_demo_data
from stilts.demo.run import stilts
from stilts.probes import make_probes

log = logging.getLogger("stilts.rank.testbed")
TARGET_PROBES = ("se_bshift", "aj_def", "aj_wh")
CANDIDATE_PROBES = ("se_somo", "se_coordinv", "aj_eos", "aj_coord")


def prepare_data(data: Path, seed: int) -> None:
    if (data / "mlm" / "val.txt").is_file():
        log.info("testbed data already in %s", data)
        return
    written = write_demo_data(data, seed=seed, n_sentences=20000, n_intermediate=1500, n_target=400)
    lines = written["corpus"].read_text(encoding="utf-8").splitlines()
    cut = len(lines) * 9 // 10
    (data / "mlm").mkdir(parents=True, exist_ok=True)
    (data / "mlm" / "train.txt").write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    (data / "mlm" / "val.txt").write_text("\n".join(lines[cut:]) + "\n", encoding="utf-8")
    # Small downstream sets (where intermediate training matters most), larger candidate sets.
    make_probes(written["corpus"], data, seed=seed, names=TARGET_PROBES, max_sentences=1500)
    make_probes(written["corpus"], data, seed=seed, names=CANDIDATE_PROBES, max_sentences=5000)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="[testbed] %(message)s")
    parser = argparse.ArgumentParser(prog="stilts-rank-testbed", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("demo_selection"), help="folder for everything")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mlm-epochs", type=int, default=4)
    parser.add_argument(
        "--grid", nargs="*", default=[], help="overrides for the grid only (e.g. a smaller sweep)"
    )
    parser.add_argument("overrides", nargs="*", help="overrides for the grid and stilts-rank alike")
    args = parser.parse_args(argv)
    # One PyTorch thread per process: on a shared 2-core machine, multi-threaded steps of the tiny
    # model spin on other processes' threads (a 20x slower target stage measured here).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    out = args.out.resolve()
    paths = [f"paths.data_dir={out / 'data'}", f"paths.cache_dir={out / 'cache'}", f"paths.output_dir={out}"]
    timings: dict[str, float] = {}
    started = time.monotonic()
    prepare_data(out / "data", args.seed)
    timings["data_s"] = time.monotonic() - started

    started = time.monotonic()
    # The demo's masked-LM pre-training (stilts/demo/run.py): fixed epochs, not jiant's schedule.
    mlm = [
        "model=tiny",
        "schedule=epochs",
        "trainer=cpu",
        "logger=csv",
        "task@target=mlm",
        "save_encoder=true",
    ]
    stilts("train", *mlm, f"target.max_epochs={args.mlm_epochs}", "cell_name=mlm_pretraining", *paths)
    timings["mlm_s"] = time.monotonic() - started
    encoder = f"model.encoder_weights={out / 'runs' / 'mlm_pretraining' / 'encoder.safetensors'}"

    started = time.monotonic()
    stilts("train", "-m", "experiment=demo_selection", encoder, *paths, *args.grid, *args.overrides)
    timings["grid_s"] = time.monotonic() - started
    log.info("grid: %.1f min", timings["grid_s"] / 60)

    started = time.monotonic()
    grid = out / "multirun" / "demo_selection"
    stilts(
        "rank",
        "experiment=demo_selection",
        encoder,
        *paths,
        f"evaluate={grid}",
        f"rank.grid_wall_s={timings['grid_s']:.1f}",
        f"out={out / 'rank_evaluation'}",
        *args.overrides,
    )
    timings["rank_evaluate_s"] = time.monotonic() - started
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    log.info("timings: %s; evaluation: %s", timings, out / "rank_evaluation" / "rank_evaluation.md")


if __name__ == "__main__":
    main()
