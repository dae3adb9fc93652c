"""The data report of `stilts-data`: per split, counts, labels, token lengths and truncation."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from stilts.errors import MissingDataError
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.readers import UNLABELED

PERCENTILES = (50, 90, 95, 99)


def split_report(datamodule: TaskDataModule, split: str) -> dict[str, Any]:
    """Counts, label distribution, token-length percentiles and truncated share of one split."""
    try:
        raw = datamodule.read_split(split)
    except MissingDataError as err:
        return {"available": False, "reason": str(err)}
    spec = datamodule.spec
    report: dict[str, Any] = {"available": True, "examples": len(raw)}
    if "label" in raw.column_names and spec.labels:
        counts = Counter(int(x) for x in raw["label"])
        report["labels"] = {
            ("<unlabeled>" if index == UNLABELED else spec.labels[index]): count
            for index, count in sorted(counts.items())
        }
    featurizer, tokenizer = datamodule.featurizer, datamodule.tokenizer
    lengths: list[int] = []
    for start in range(0, len(raw), 1000):
        lengths += featurizer.untruncated_lengths(raw[start : start + 1000], tokenizer)
    if lengths:
        array = np.asarray(lengths)
        report["tokens"] = {f"p{p}": int(np.percentile(array, p)) for p in PERCENTILES}
        report["tokens"]["max"] = int(array.max())
        report["truncated_share"] = float((array > datamodule.max_length).mean())
        report["max_length"] = datamodule.max_length
    facts = featurizer.describe(raw, tokenizer, datamodule.max_length)
    if facts:
        report["facts"] = facts
    return report


def data_report(datamodule: TaskDataModule, splits: list[str]) -> dict[str, Any]:
    return {
        "task": datamodule.spec.name,
        "source": datamodule.resolved_source(),
        "where": str(datamodule.task_dir)
        if datamodule.resolved_source() == "local"
        else datamodule.spec.cfg.hub.path,
        "splits": {split: split_report(datamodule, split) for split in splits},
    }


def format_text(report: dict[str, Any]) -> str:
    lines = [f"task {report['task']} ({report['source']}: {report['where']})"]
    for split, info in report["splits"].items():
        if not info["available"]:
            lines.append(f"  {split}: not available ({info['reason']})")
            continue
        lines.append(f"  {split}: {info['examples']} examples")
        if "labels" in info:
            total = sum(info["labels"].values())
            shares = ", ".join(f"{k} {v} ({v / total:.1%})" for k, v in info["labels"].items())
            lines.append(f"    labels: {shares}")
        if "tokens" in info:
            tokens = ", ".join(f"{k} {v}" for k, v in info["tokens"].items())
            lines.append(
                f"    tokens: {tokens}; truncated at {info['max_length']}: {info['truncated_share']:.1%}"
            )
    return "\n".join(lines)
