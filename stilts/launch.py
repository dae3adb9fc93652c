"""Process placement: one GPU per local job, DDP children inside Hydra sweeps, rank awareness."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, read_write

log = logging.getLogger(__name__)
_claimed: list[FileLock] = []  # held for the life of the process


def global_rank() -> int:
    """This process's rank in a DDP job (0 outside DDP), from the launchers' environment."""
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if key in os.environ and os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", "1")) != "1":
            return int(os.environ[key])
    return int(os.environ.get("LOCAL_RANK", 0))


def is_rank_zero() -> bool:
    return global_rank() == 0


def share_cpu_threads() -> None:
    """Split the CPU cores between the jobs a parallel launcher runs at once. Each PyTorch process
    otherwise starts one OpenMP thread per core, and oversubscribed OpenMP threads spin on each
    other (measured here: a 50x slower tiny-model step with two 2-thread processes on 2 cores)."""
    launcher = HydraConfig.get().launcher
    jobs = int(launcher.get("n_jobs") or 1) if "n_jobs" in launcher else 1
    if jobs > 1:
        import torch

        threads = max(1, (os.cpu_count() or 1) // jobs)
        torch.set_num_threads(threads)
        log.info("%d parallel jobs: %d CPU thread(s) each", jobs, threads)


def claim_gpu(trainer: DictConfig) -> int | None:
    """Give this job a GPU of its own when several single-GPU jobs share a machine (joblib launcher).

    Each visible GPU has a lock file; the job takes the first free one and sets CUDA_VISIBLE_DEVICES
    before CUDA starts. Jobs whose `trainer` node uses several devices (DDP) or a machine with one GPU
    are left alone.
    """
    if (
        trainer.get("devices") != 1
        or "CUDA_VISIBLE_DEVICES" in os.environ
        and "," not in os.environ["CUDA_VISIBLE_DEVICES"]
    ):
        return None
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count < 2:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(map(str, range(count)))).split(",")
    lock_dir = Path(tempfile.gettempdir()) / "stilts-gpu-locks"
    lock_dir.mkdir(exist_ok=True)
    for device in visible:
        lock = FileLock(str(lock_dir / f"gpu{device}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue
        _claimed.append(lock)
        os.environ["CUDA_VISIBLE_DEVICES"] = device
        log.info("this job uses GPU %s", device)
        return int(device)
    log.warning("every GPU is claimed by another stilts job; sharing GPU %s", visible[0])
    return None


@contextmanager
def ddp_job_scope() -> Iterator[None]:
    """Leave no DDP state behind when a job ends, so the next job of a sweep run in the same process
    (Hydra's basic launcher) starts its own DDP ranks instead of joining the previous job's: tear
    down the process group and drop the environment variables Lightning set for the ranks."""
    before = dict(os.environ)
    try:
        yield
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for key in set(os.environ) - set(before):
            del os.environ[key]
        os.environ.update({k: v for k, v in before.items() if os.environ.get(k) != v})


def prepare_ddp_relaunch(run_dir: Path) -> None:
    """Make Lightning's DDP children run this job, not the whole sweep.

    Lightning starts DDP ranks by re-running the command line with `hydra.run.dir` set to the job's
    run dir. Inside a Hydra multirun the command line is the sweep (`-m` and all its values), so
    every child would start the sweep again. Replace it with this job's own overrides and point
    the run dir at this job's folder.
    """
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return
    sys.argv = [sys.argv[0], *hydra_cfg.overrides.task]
    with read_write(hydra_cfg.run):
        hydra_cfg.run.dir = str(run_dir)
