"""The encoder cache's train-once guarantee across concurrent (spawned) processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import torch

from stilts.cache import EncoderCache


def _slow_train(root: str, marker: str) -> None:
    def train(folder: Path) -> dict:
        with open(marker, "a") as handle:
            handle.write("trained\n")
        time.sleep(1.0)
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(folder / "encoder.safetensors"))
        return {"main": 0.5}

    EncoderCache(root).get_or_train({"task": "rte", "seed": 1}, train)


def test_concurrent_jobs_train_an_entry_once(tmp_path) -> None:
    marker = tmp_path / "trainings.log"
    context = multiprocessing.get_context("spawn")
    jobs = [
        context.Process(target=_slow_train, args=(str(tmp_path / "cache"), str(marker))) for _ in range(3)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(60)
        assert job.exitcode == 0
    assert marker.read_text().count("trained") == 1
