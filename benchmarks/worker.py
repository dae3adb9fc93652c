"""One measurement in a fresh process (so peak RSS and warm caches belong to that run alone).

`python -m benchmarks.worker JOB SETTING_JSON` prints one JSON line: the figures of `JOB`, which is a
runner name (`stilts`, `raw_grouped`, `raw_random`, `hf_trainer`, `hf_trainer_grouped`), `prep`
(time to prepare the training split) or `rss` (memory while preparing and iterating it).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from benchmarks.runners import RUNNERS, Measure, Setting, prepare

RESULT_PREFIX = "BENCH_RESULT "


def _rss_mb() -> dict[str, float]:
    """Current and peak resident memory, and its anonymous part (heap, not file-backed pages)."""
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def measure_prep(setting: Setting) -> dict[str, Any]:
    """Seconds for `TaskDataModule(...).featurized("train")`: reading, then featurizing (or loading
    both from the Arrow cache when an earlier process made them)."""
    _, _, datamodule = prepare(setting)
    started = time.perf_counter()
    train = datamodule.featurized("train")
    return {
        "seconds": time.perf_counter() - started,
        "examples": len(train),
        "cache_files": len(train.cache_files),
    }


def measure_rss(setting: Setting) -> dict[str, Any]:
    """Memory after importing, after preparing the training split, and after one pass of its dataloader
    (sampler + collator over every example, no model)."""
    before = _rss_mb()
    _, _, datamodule = prepare(setting)
    train = datamodule.featurized("train")
    prepared = _rss_mb()
    count = Measure("rss")
    for batch in datamodule.train_dataloader():
        count.count(batch)
    after = _rss_mb()
    return {
        "examples": len(train),
        "batches": count.steps,
        "rss_start_mb": before["VmRSS"],
        "rss_prepared_mb": prepared["VmRSS"],
        "rss_after_pass_mb": after["VmRSS"],
        "peak_rss_mb": after["VmHWM"],
        "anon_after_pass_mb": after["RssAnon"],
        "file_after_pass_mb": after["RssFile"],
        "padding_efficiency": count.real_tokens / max(1, count.computed_tokens),
    }


def run_job(job: str, setting: Setting) -> dict[str, Any]:
    if job == "prep":
        return measure_prep(setting)
    if job == "rss":
        return measure_rss(setting)
    if job in RUNNERS:
        return RUNNERS[job](setting)
    from benchmarks.hf import HF_RUNNERS

    return HF_RUNNERS[job](setting)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    job, setting = sys.argv[1], Setting(**json.loads(sys.argv[2]))
    # stdout carries the result line only; libraries' chatter goes to stderr.
    print(RESULT_PREFIX + json.dumps(run_job(job, setting)), flush=True)


if __name__ == "__main__":
    main()
