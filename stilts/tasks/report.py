"""The data report of `stilts-data`: per split, counts, labels, token lengths and truncation.

Each split is `available` or not, with the reason. A split that cannot be read (missing, unreadable)
or whose data is wrong (malformed, or without the labels training and validation need) is a problem
when a run needs it: `train` and `val` always, any split whose data is wrong. `stilts-data` exits 2
when the report lists problems. Records a reader leaves out by design are counted per split
(`skipped`), as are records kept with a warning by a judgement check (`flagged`, e.g. a WiC span
inside a contraction) and the task's own facts (`facts`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from stilts.errors import DataFormatError, MissingDataError
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.truncation import segment_budget
from stilts.tasks.values import UNLABELED

PERCENTILES = (50, 90, 95, 99)
NEEDED_SPLITS = ("train", "val")  # every run reads these; `test` is optional


def split_report(datamodule: TaskDataModule, split: str) -> dict[str, Any]:
    """Counts, label distribution, token-length percentiles and truncated share of one split."""
    try:
        raw = datamodule.read_split(split)
        datamodule.check_labels(split, raw)
        skipped = datamodule.skipped(split)
        flagged = datamodule.flagged(split)
    except MissingDataError as err:
        return {"available": False, "reason": str(err), "problem": split in NEEDED_SPLITS}
    except DataFormatError as err:
        return {"available": False, "reason": str(err), "problem": True}
    spec = datamodule.spec
    report: dict[str, Any] = {"available": True, "examples": len(raw)}
    if skipped:
        report["skipped"] = skipped
    if flagged:
        report["flagged"] = flagged
    if "label" in raw.column_names and spec.labels:
        counts = Counter(int(x) for x in raw["label"])
        report["labels"] = {
            ("<unlabeled>" if index == UNLABELED else spec.labels[index]): count
            for index, count in sorted(counts.items())
        }
    featurizer, tokenizer = datamodule.featurizer, datamodule.tokenizer
    lengths: list[int] = []
    cut: list[bool] = []
    for start in range(0, len(raw), 1000):
        batch = raw[start : start + 1000]
        lengths += featurizer.untruncated_lengths(batch, tokenizer)
        cut += featurizer.truncated(batch, tokenizer, datamodule.max_length)
    if lengths:
        array = np.asarray(lengths)
        report["tokens"] = {f"p{p}": int(np.percentile(array, p)) for p in PERCENTILES}
        report["tokens"]["max"] = int(array.max())
        # Share of sequences the featurizer cuts under `model.truncation` (per segment or per pair).
        report["truncated_share"] = float(np.mean(cut))
        report["max_length"] = datamodule.max_length
        report["truncation"] = featurizer.truncation
    facts = featurizer.describe(raw, tokenizer, datamodule.max_length)
    if facts:
        report["facts"] = facts
    return report


def data_report(datamodule: TaskDataModule, splits: list[str]) -> dict[str, Any]:
    """The report of the given splits (`stilts-data` asks for train, val and test by default)."""
    reports = {split: split_report(datamodule, split) for split in splits}
    return {
        "task": datamodule.spec.name,
        "source": datamodule.resolved_source(),
        "where": str(datamodule.task_dir)
        if datamodule.resolved_source() == "local"
        else f"{datamodule.spec.cfg.hub.path}@{datamodule.spec.cfg.hub.get('revision') or 'main'}",
        "splits": reports,
        "problems": [
            r["reason"] if f"split `{s}`" in r["reason"] else f"split `{s}`: {r['reason']}"
            for s, r in reports.items()
            if r.get("problem")
        ],
    }


def truncation_rule(info: dict[str, Any]) -> str:
    """How the split's sequences are cut, in words."""
    if info["truncation"] == "segment":
        return f"truncated (each segment at {segment_budget(info['max_length'])} tokens)"
    return f"truncated at {info['max_length']} (pair)"


def format_text(report: dict[str, Any]) -> str:
    lines = [f"task {report['task']} ({report['source']}: {report['where']})"]
    for split, info in report["splits"].items():
        if not info["available"]:
            state = "PROBLEM" if info.get("problem") else "not available"
            lines.append(f"  {split}: {state} ({info['reason']})")
            continue
        lines.append(f"  {split}: {info['examples']} examples")
        for what, count in info.get("skipped", {}).items():
            lines.append(f"    skipped, {what}: {count}")
        for what, count in info.get("flagged", {}).items():
            lines.append(f"    flagged, {what}: {count}")
        if "labels" in info:
            total = sum(info["labels"].values())
            shares = ", ".join(f"{k} {v} ({v / total:.1%})" for k, v in info["labels"].items())
            lines.append(f"    labels: {shares}")
        if "tokens" in info:
            tokens = ", ".join(f"{k} {v}" for k, v in info["tokens"].items())
            lines.append(f"    tokens: {tokens}; {truncation_rule(info)}: {info['truncated_share']:.1%}")
        for name, value in info.get("facts", {}).items():
            shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
            lines.append(f"    {name}: {shown}")
    return "\n".join(lines)
