"""Data-path benchmarks: the Arrow cache on a second preparation, and memory as the data grows.

Each measurement runs in a fresh process (`benchmarks.worker`), as a second job of a grid would.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.runners import Setting
from benchmarks.worker import RESULT_PREFIX

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]


def run_in_subprocess(job: str, setting: Setting, timeout_s: float = 900) -> dict[str, Any]:
    """Run one worker job in a fresh interpreter; its stderr (progress bars, warnings) is dropped."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", job, json.dumps(dataclasses.asdict(setting))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"benchmark job `{job}` failed (exit {done.returncode}): {tail[0]}")
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX))


def preparation(setting: Setting, repeats: int) -> dict[str, Any]:
    """First preparation (empty cache) against the second (same cache, fresh process), `repeats` times
    with a new cache each; the medians and their ratio."""
    firsts, seconds = [], []
    for i in range(repeats):
        fresh = dataclasses.replace(setting, cache_dir=f"{setting.cache_dir}/prep{i}")
        firsts.append(run_in_subprocess("prep", fresh)["seconds"])
        second = run_in_subprocess("prep", fresh)
        seconds.append(second["seconds"])
        examples = second["examples"]
    first, second_s = statistics.median(firsts), statistics.median(seconds)
    log.info("preparation of %d examples: first %.3f s, second %.3f s", examples, first, second_s)
    return {
        "examples": examples,
        "first_s": firsts,
        "second_s": seconds,
        "first_median_s": first,
        "second_median_s": second_s,
        "second_over_first": second_s / first,
    }


def memory(settings: dict[int, Setting]) -> dict[str, Any]:
    """Peak RSS of preparing (featurizing from an empty cache) and iterating each data size once."""
    out: dict[str, Any] = {}
    for size, setting in sorted(settings.items()):
        out[str(size)] = run_in_subprocess("rss", setting)
        log.info("memory at %d examples: peak RSS %.0f MiB", size, out[str(size)]["peak_rss_mb"])
    small, large = min(settings), max(settings)
    out["sizes"] = [small, large]
    out["peak_large_over_small"] = out[str(large)]["peak_rss_mb"] / out[str(small)]["peak_rss_mb"]
    out["anon_large_over_small"] = (
        out[str(large)]["anon_after_pass_mb"] / out[str(small)]["anon_after_pass_mb"]
    )
    return out
