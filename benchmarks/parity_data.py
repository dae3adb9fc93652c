"""The parity benchmark's data and scoring, shared by both sides (benchmarks.parity).

`write_data_dir` lays out one data folder that stilts (`paths.data_dir`) and the Trainer side both
read: links to the real files, or a fixed, seeded sample of a training file (SST-2: 8,000
sentences). The Trainer side reads these files here, with plain `json`/`csv`, not through stilts'
readers, so a reader bug on one side would show as a difference. Scores are computed here from each
side's per-example predictions with one scorer (accuracy; CB: macro-F1 over the three classes), and
the majority-class score from the training labels.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score


@dataclass(frozen=True)
class ParityTask:
    """One task of the benchmark: its files, its text and label fields, its metric and recipe epochs."""

    name: str
    labels: tuple[str, ...]
    epochs: int
    metric: str  # "acc" or "f1_macro"
    choice: bool = False  # multiple choice (COPA)


TASKS: dict[str, ParityTask] = {
    "rte": ParityTask("rte", ("entailment", "not_entailment"), 3, "acc"),
    "cb": ParityTask("cb", ("entailment", "contradiction", "neutral"), 10, "f1_macro"),
    "sst2": ParityTask("sst2", ("0", "1"), 3, "acc"),
    "copa": ParityTask("copa", ("0", "1"), 10, "acc", choice=True),
}
SPLIT_FILES = {"rte": ("train.jsonl", "val.jsonl"), "cb": ("train.jsonl", "val.jsonl"),
               "copa": ("train.jsonl", "val.jsonl"), "sst2": ("train.tsv", "dev.tsv")}  # fmt: skip
# COPA's question as a connective after the premise, as stilts' COPA task writes it.
COPA_CONNECTIVES = {"cause": "because", "effect": "so"}


@dataclass(frozen=True)
class Example:
    """One example as the Trainer side tokenizes it: (first, second) text per input (one input, or
    one per choice) and the label index."""

    inputs: tuple[tuple[str, str | None], ...]
    label: int


def write_data_dir(source: Path, out: Path, train_sizes: dict[str, int | None], seed: int) -> Path:
    """`out/<task>/` for each task of `train_sizes`: its training file cut to a seeded sample of that
    many rows (kept in file order) or, for None, linked whole; its dev file always linked whole.
    A task folder already there is kept (benchmarks.parity checks that its settings did not change)."""
    for name, size in train_sizes.items():
        folder = out / name
        if folder.exists():
            continue
        folder.mkdir(parents=True)
        train_file, dev_file = SPLIT_FILES[name]
        (folder / dev_file).symlink_to((source / name / dev_file).resolve())
        if size is None:
            (folder / train_file).symlink_to((source / name / train_file).resolve())
            continue
        lines = (source / name / train_file).read_text(encoding="utf-8").splitlines(keepends=True)
        header, rows = (lines[:1], lines[1:]) if train_file.endswith(".tsv") else ([], lines)
        keep = sorted(random.Random(seed).sample(range(len(rows)), min(size, len(rows))))
        (folder / train_file).write_text("".join(header + [rows[i] for i in keep]), encoding="utf-8")
    return out


def read_split(data_dir: Path, task: ParityTask, split: str) -> list[Example]:
    """The examples of `split` (train or val) from the files `write_data_dir` laid out."""
    path = data_dir / task.name / SPLIT_FILES[task.name][0 if split == "train" else 1]
    if task.name == "sst2":
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        return [Example(((r["sentence"], None),), task.labels.index(r["label"])) for r in rows]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if task.choice:
        return [_copa(r) for r in rows]
    return [Example(((r["premise"], r["hypothesis"]),), task.labels.index(r["label"])) for r in rows]


def _copa(row: dict) -> Example:
    context = f"{row['premise'].rstrip().rstrip('.')} {COPA_CONNECTIVES[row['question']]}"
    return Example(((context, row["choice1"]), (context, row["choice2"])), int(row["label"]))


def score(task: ParityTask, preds: list[int], gold: list[int]) -> float:
    """The task's dev score: accuracy, or (CB) the mean F1 over all three classes, a class never
    predicted and never gold counting 0."""
    if len(preds) != len(gold) or not gold:
        raise ValueError(f"{task.name}: {len(preds)} predictions for {len(gold)} gold labels")
    if task.metric == "f1_macro":
        labels = list(range(len(task.labels)))
        return float(f1_score(gold, preds, labels=labels, average="macro", zero_division=0))
    return float(np.mean(np.asarray(preds) == np.asarray(gold)))


def majority_score(task: ParityTask, data_dir: Path) -> float:
    """The dev score of always predicting the most frequent training label."""
    train, dev = read_split(data_dir, task, "train"), read_split(data_dir, task, "val")
    majority = Counter(e.label for e in train).most_common(1)[0][0]
    return score(task, [majority] * len(dev), [e.label for e in dev])
