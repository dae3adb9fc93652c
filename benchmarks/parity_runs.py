"""One run of each side of the parity benchmark, each in a fresh process, and its record.

stilts: `python -m stilts.train` (the `stilts-train` entry point) with overrides that state the
recipe of `Recipe`; the Trainer side: `python -m benchmarks.parity_hf`. A record holds the dev score
recomputed from the run's per-example predictions by `benchmarks.parity_data.score` (one scorer for
both sides), the score after each epoch, the training time (the epochs' steps, validations left out),
and the process' wall time.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.parity_data import TASKS, score

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "offline",
}


@dataclass(frozen=True)
class Recipe:
    """What both sides train with (the issue's recipe); `epochs` 0 means each task's own (3; CB, COPA 10)."""

    lr: float = 2e-5
    batch_size: int = 16
    max_length: int = 128
    epochs: int = 0
    threads: int = 2
    # stilts' head: `first` (the paper's: first token, no pooler) or `pooler` (the encoder's pretrained
    # pooler, as transformers' BertFor* heads).
    stilts_head: str = "pooler"
    # stilts' output layer: None for PyTorch's default initialisation (stilts' and the paper's), 0.02 for
    # the Trainer's (N(0, initializer_range) weights, zero bias).
    stilts_head_init_std: float | None = None
    # stilts' training batches: None for length-grouped ones (stilts' and the paper's), True for random
    # ones (the Trainer's order).
    stilts_random_batches: bool | None = None

    def task_epochs(self, task: str) -> int:
        return self.epochs or TASKS[task].epochs


def stilts_overrides(recipe: Recipe, task: str, seed: int, data_dir: Path, run_dir: Path) -> list[str]:
    """The `stilts-train` overrides of the recipe. The Trainer's defaults where the issue's recipe says
    nothing: AdamW epsilon 1e-8, gradient clipping at norm 1.0; its classifier dropout (MiniLM's
    hidden dropout, 0.1) on the head's input, the encoder keeping its own dropout (placement `head`)."""
    head = ["++target.head.pooling=pooler", "model.kwargs.add_pooling_layer=true"]
    return [
        f"task@target={task}",
        "model=minilm",
        f"model.max_length={recipe.max_length}",
        "model.truncation=pair",  # the whole pair cut to max_length, longest first, as the tokenizer does
        "model.dropout_placement=head",
        "optim=adamw",
        "optim.optimizer.eps=1e-8",
        "optim.optimizer.weight_decay=0.01",
        "optim.scheduler.warmup_ratio=0.1",
        "optim.grad_clip=1.0",
        "schedule=epochs",
        "callbacks=last_state",  # no checkpoint selection, no early stopping: the last state is scored
        "trainer=cpu",
        "++trainer.enable_progress_bar=false",
        "logger=csv",
        f"target.lr={recipe.lr}",
        f"target.batch_size={recipe.batch_size}",
        f"target.max_epochs={recipe.task_epochs(task)}",
        "target.dropout=0.1",
        "target.val_limit=null",  # every validation on the full dev set
        *(head if recipe.stilts_head == "pooler" else []),
        *([f"++target.head.init_std={recipe.stilts_head_init_std}"] if recipe.stilts_head_init_std else []),
        *(["data.length_grouped=false"] if recipe.stilts_random_batches else []),
        f"seed={seed}",
        "data.source=local",
        "forgetting.enabled=false",
        f"paths.data_dir={data_dir}",
        f"paths.cache_dir={run_dir.parent / 'cache'}",
        f"paths.output_dir={run_dir}",
        f"hydra.run.dir={run_dir}",
        "+callbacks.train_timer._target_=benchmarks.parity_timer.TrainTimer",
        "+callbacks.train_timer.path=${stage.dir}/train_time.json",
    ]


def _run(command: list[str], threads: int, log_path: Path) -> float:
    """Run `command` from the repository root with `threads` torch threads; its wall time."""
    env = {**os.environ, **OFFLINE, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    with log_path.open("w") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {done.returncode} (log {log_path}):\n{tail}")
    return time.perf_counter() - started


def run_stilts(recipe: Recipe, task: str, seed: int, data_dir: Path, run_dir: Path) -> dict[str, Any]:
    if run_dir.exists():  # an interrupted run starts afresh, so its timings cover the whole run
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "stilts.train", *stilts_overrides(recipe, task, seed, data_dir, run_dir)]
    wall = _run(command, recipe.threads, run_dir.parent / f"{run_dir.name}.log")
    result = json.loads((run_dir / "result.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    timing = json.loads((run_dir / "target" / "train_time.json").read_text())
    with (run_dir / "target" / "logs" / "metrics.csv").open() as f:
        curve = [float(r["val/main"]) for r in csv.DictReader(f) if r.get("val/main")]
    epochs = recipe.task_epochs(task)
    return {
        "side": "stilts",
        "task": task,
        "seed": seed,
        "score": score(TASKS[task], [r["preds"] for r in rows], [r["target"] for r in rows]),
        "stilts_main": result["main"],  # stilts' own metric, to check against the shared scorer
        "epoch_scores": curve[:epochs],
        "train_examples": result["train_examples"],
        "epochs": len(timing["epoch_s"]),
        "train_s": timing["train_s"],
        "train_cpu_s": timing["cpu_s"],
        "wall_s": wall,
    }


def run_trainer(recipe: Recipe, task: str, seed: int, data_dir: Path, run_dir: Path) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "run.json"
    command = [sys.executable, "-m", "benchmarks.parity_hf", "--task", task, "--seed", str(seed),
               "--data-dir", str(data_dir), "--out", str(out), "--epochs", str(recipe.task_epochs(task)),
               "--lr", str(recipe.lr), "--batch-size", str(recipe.batch_size),
               "--max-length", str(recipe.max_length), "--threads", str(recipe.threads)]  # fmt: skip
    wall = _run(command, recipe.threads, run_dir.parent / f"{run_dir.name}.log")
    record = json.loads(out.read_text())
    record.pop("predictions")
    shutil.rmtree(run_dir / "run_trainer", ignore_errors=True)
    return {**record, "wall_s": wall}


SIDES = {"stilts": run_stilts, "trainer": run_trainer}


def run_once(recipe: Recipe, data: Path, work: Path, task: str, seed: int, side: str) -> tuple[dict, bool]:
    """One side's run of `task` and `seed` (its record), unless an earlier command finished it."""
    done = work / "records" / f"{task}-{seed}-{side}.json"
    if done.exists():
        return json.loads(done.read_text()), False
    record = SIDES[side](recipe, task, seed, data, work / "runs" / side / task / f"seed{seed}")
    done.parent.mkdir(exist_ok=True)
    done.write_text(json.dumps(record))
    return record, True


def report(record: dict, fresh: bool) -> str:
    if not fresh:
        return "done earlier"
    trained = record["train_examples"] * record["epochs"]
    cpu = f"{trained / record['train_cpu_s']:.1f} per CPU s" if record.get("train_cpu_s") else "CPU n/a"
    rate = f"{trained / record['train_s']:.1f} train ex/s ({cpu})"
    return f"score {record['score']:.4f}, {rate}, {record['wall_s']:.0f} s"
