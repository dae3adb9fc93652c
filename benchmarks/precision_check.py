"""`python -m benchmarks.precision_check`: bf16 mixed precision gives the dev score of full precision.

One small cell, trained twice from the same seed on the same batches: the tiny RoBERTa (random init) on
`demo_tense` (past or present tense, from the demo grammar: learnable from scratch in a few hundred
steps), once with `trainer.precision=bf16-mixed` and once with `32-true`, plus a second fp32 restart
(another seed) to show how far seeds alone move the score. One epoch of 4,000 examples leaves the task
unsaturated (dev accuracy about 0.85 on CPU), so a precision problem shows in the score. The check passes
when both precisions learn (dev accuracy >= `--floor` 0.75; chance is 0.5) and their dev scores differ
by at most `--tolerance` 0.05: two independent runs on the 400 dev examples at accuracy 0.85 differ by
a standard deviation of sqrt(2 x 0.85 x 0.15 / 400) = 0.025, so 0.05 (20 examples) is exceeded with
at most 5% chance even if bf16 rounding made the runs as different as two seeds, while a broken precision
path (chance level, or a model that learnt little) fails. Writes every score to `--out`.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir

from stilts.config import CONF_DIR, register_resolvers
from stilts.demo.grammar import write_demo_data

log = logging.getLogger(__name__)


def run(
    root: Path, task: str, accelerator: str, precision: str, restart: int, examples: int, epochs: int
) -> dict[str, Any]:
    """The result record of one cell."""
    from stilts.pipeline import run_cell

    register_resolvers()
    overrides = [
        "model=tiny",
        "optim=adamw",  # fused AdamW with clipping: the path Lightning's mixed precision refused
        f"trainer={accelerator}",
        f"trainer.precision={precision}",
        "+trainer.enable_progress_bar=false",
        "logger=none",
        f"task@target={task}",
        "target.lr=3e-4",
        "target.batch_size=32",
        f"target.max_epochs={epochs}",
        f"target.val_interval={max(1, examples // 32)}",  # once an epoch
        f"restart={restart}",
        f"paths.data_dir={root / 'data'}",
        f"paths.cache_dir={root / 'cache'}",
        f"paths.output_dir={root / 'out'}",
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    return run_cell(cfg, root / "out" / f"{precision}_r{restart}")


def check(
    task: str, accelerator: str, examples: int, epochs: int, tolerance: float, floor: float, root: Path
) -> dict[str, Any]:
    write_demo_data(root / "data", seed=0, n_sentences=10, n_intermediate=examples, n_target=examples)
    started = time.monotonic()
    runs = {
        "bf16-mixed": run(root, task, accelerator, "bf16-mixed", 0, examples, epochs),
        "32-true": run(root, task, accelerator, "32-true", 0, examples, epochs),
        "32-true_restart1": run(root, task, accelerator, "32-true", 1, examples, epochs),
    }
    scores = {name: float(result["main"]) for name, result in runs.items()}
    difference = abs(scores["bf16-mixed"] - scores["32-true"])
    passed = difference <= tolerance and min(scores["bf16-mixed"], scores["32-true"]) >= floor
    return {
        "task": task,
        "accelerator": accelerator,
        "train_examples": examples,
        "dev_examples": runs["32-true"]["val_examples"],
        "epochs": epochs,
        "scores": scores,
        "bf16_minus_fp32": scores["bf16-mixed"] - scores["32-true"],
        "seed_spread_fp32": abs(scores["32-true"] - scores["32-true_restart1"]),
        "tolerance": tolerance,
        "floor": floor,
        "passed": passed,
        "wall_s": time.monotonic() - started,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.precision_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--task", default="demo_tense", help="a demo task (stilts/conf/task/demo_*.yaml)")
    parser.add_argument("--accelerator", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--examples", type=int, default=4000, help="training examples")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.05, help="largest |bf16 - fp32| dev accuracy")
    parser.add_argument("--floor", type=float, default=0.75, help="lowest dev accuracy that counts as learnt")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stilts-precision-") as tmp:
        out = check(
            args.task, args.accelerator, args.examples, args.epochs, args.tolerance, args.floor, Path(tmp)
        )
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    scores = out["scores"]
    log.info(
        "bf16 %.4f, fp32 %.4f (restart 1: %.4f): %s", scores["bf16-mixed"], scores["32-true"],
        scores["32-true_restart1"], "passed" if out["passed"] else "FAILED",
    )  # fmt: skip
    if not out["passed"]:
        raise SystemExit(1)
    return out


if __name__ == "__main__":
    main()
