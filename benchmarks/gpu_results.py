"""Bookkeeping of benchmarks/gpu_check.sh.

- `python -m benchmarks.gpu_results record STEP RC SECONDS LOG [RESULT_JSON]`: add one step to the
  results file (`GPU_RESULTS`, default benchmarks/gpu_results.json);
- `python -m benchmarks.gpu_results sweep SWEEP_DIR OUT_JSON CELLS`: what a sweep left (cells with a
  result, their scores and trainer settings); exit 1 unless CELLS cells finished.

Each step is written as soon as it ends, so a later step that fails or hangs loses nothing; the file is
replaced atomically. The first call also writes the machine (device, driver-visible CUDA, versions),
the date and the commit of the working tree.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "benchmarks" / "gpu_results.json"
TIMEOUT_RC = 124  # what `timeout` returns when it kills a step


def machine() -> dict[str, Any]:
    import lightning
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "device": torch.cuda.get_device_name() if cuda else None,
        "devices": torch.cuda.device_count() if cuda else 0,
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "commit": commit.strip() or None,
    }


def record(path: Path, step: str, rc: int, seconds: float, log: Path, result: Path | None) -> dict[str, Any]:
    """Add `step` (exit status, wall time, last lines of its log, its JSON result if any) to `path`."""
    results = json.loads(path.read_text()) if path.is_file() else {}
    if "machine" not in results:
        results = {"machine": machine(), "steps": {}}
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    entry: dict[str, Any] = {
        "status": "ok" if rc == 0 else "timed out" if rc == TIMEOUT_RC else "failed",
        "exit_code": rc,
        "wall_s": round(seconds, 1),
        "log_tail": lines[-15:],
    }
    if result is not None and result.is_file():
        try:
            entry["result"] = json.loads(result.read_text())
        except json.JSONDecodeError as err:
            entry["result_error"] = f"{result}: {err}"
    results["steps"][step] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)
    return results


def sweep_outcome(sweep_dir: Path) -> dict[str, Any]:
    """Every cell folder of a finished sweep: its status, `main` score and the trainer it ran on."""
    cells: dict[str, Any] = {}
    for result in sorted(sweep_dir.glob("*/result.json")):
        record_ = json.loads(result.read_text())
        cells[result.parent.name] = {
            key: record_.get(key) for key in ("status", "main", "steps", "task", "intermediate")
        }
        composed = result.parent / ".hydra" / "config.yaml"  # the cell's config as Hydra composed it
        if composed.is_file():
            trainer = OmegaConf.load(composed).trainer
            cells[result.parent.name]["trainer"] = {
                key: trainer.get(key) for key in ("accelerator", "devices", "strategy", "precision")
            }
    summary = sweep_dir / "summary.json"
    return {"cells": cells, "summary": json.loads(summary.read_text()) if summary.is_file() else None}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) in (5, 6) and args[0] == "record":
        step, rc, seconds, log = args[1], int(args[2]), float(args[3]), Path(args[4])
        result = Path(args[5]) if len(args) == 6 else None
        record(Path(os.environ.get("GPU_RESULTS", DEFAULT)), step, rc, seconds, log, result)
    elif len(args) == 4 and args[0] == "sweep":
        outcome = sweep_outcome(Path(args[1]))
        Path(args[2]).write_text(json.dumps(outcome, indent=2) + "\n")
        finished = [c for c in outcome["cells"].values() if c["status"] != "failed"]
        if len(finished) != int(args[3]):
            raise SystemExit(f"sweep {args[1]}: {len(finished)} of {args[3]} cells finished")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
