"""The GPU check script run on CPU: without a GPU it says so and runs nothing; with a GPU but a CPU
torch it stops before set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
no_cuda_here = pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has a GPU: the check would run"
)


pytestmark = pytest.mark.usefixtures("one_thread")


def run_script(tmp_path: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STILTS_PYTHON": sys.executable, "GPU_RESULTS": str(tmp_path / "results.json")}
    if extra_path is not None:
        env["PATH"] = f"{extra_path}:{env['PATH']}"
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


@no_cuda_here
def test_gpu_check_without_a_gpu_says_so_and_runs_nothing(tmp_path) -> None:
    done = run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no GPU on this machine" in done.stdout and "nothing run" in done.stdout
    assert not (tmp_path / "results.json").exists()


@no_cuda_here
def test_gpu_check_with_a_gpu_but_a_cpu_torch_stops_without_set_up(tmp_path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "nvidia-smi").write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n")
    (fake_bin / "nvidia-smi").chmod(0o755)
    done = run_script(tmp_path, extra_path=fake_bin)
    assert done.returncode == 2
    assert "sees no CUDA device" in done.stderr and "nothing run" in done.stderr
    assert "make install" not in done.stdout  # an explicit STILTS_PYTHON is never replaced
    assert not (tmp_path / "results.json").exists()
