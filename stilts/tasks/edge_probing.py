"""Edge probing (Tenney et al., 2019) as jiant v1 ran it: ep_pos ep_ner ep_srl ep_coref ep_const ep_spr1
ep_spr2 ep_dpr ep_rel ep_ud.

Task: label spans (one span, or a pair) of a sentence. Every target gets an independent sigmoid per
label, even for single-label tasks, as in jiant v1.
Source: jiant's edge-probing JSON files (OntoNotes, SPR1/SPR2, DPR; see docs/data_preparation.md);
ep_rel and ep_ud are converted from their official releases by stilts.tasks.ep_converters.
Format: JSON lines, one sentence per line with all its targets:
    {"text": "space tokenised words", "targets": [{"span1": [i, j], "span2": [k, l], "label": "A0"}]}
spans are half-open word intervals; `label` is a string or a list of strings (SPR: multi-label).
Labels: per task, in its yaml (or `labels_from_train: true`: the sorted label set of the training file).
Paper score: micro-F1 over all (target, label) decisions at p >= 0.5 (jiant `F1Measure(positive_label=1)`).

Each sentence is encoded once for all its targets: a record is a sentence; word spans are projected
to sub-token spans with the fast tokenizer's `offset_mapping`. Targets cut by truncation are dropped
and sentences left without targets are skipped (jiant skipped sentences without targets too); both
are counted by `describe()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from stilts.errors import DataFormatError
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.readers import LocalReader, Record, json_objects
from stilts.tasks.values import LabelMap

WORD = re.compile(r"\S+")
NO_SPAN = [-1, -1]


def check_span(span: Any, n_words: int, name: str, path: Path | str, line: int | None) -> list[int]:
    """A half-open word span `[i, j)` with 0 <= i < j <= n_words, or a DataFormatError."""
    if (
        not isinstance(span, list)
        or len(span) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)
    ):
        raise DataFormatError(
            path, line, f"`{name}` must be a pair of word indices [start, end), got {span!r}"
        )
    start, end = span
    if not 0 <= start < end <= n_words:
        raise DataFormatError(
            path, line, f"`{name}` {span} is not a non-empty span [start, end) within the {n_words} words"
        )
    return [start, end]


def multi_hot(label: Any, labels: LabelMap, path: Path | str, line: int | None) -> list[int]:
    """A label string or list of label strings -> a 0/1 vector over the task's labels."""
    names = label if isinstance(label, list) else [label]
    vector = [0] * len(labels.labels)
    for name in names:
        if not isinstance(name, str) or not name:
            raise DataFormatError(path, line, f"label {name!r} is not a label string")
        vector[labels(name, path, line)] = 1
    return vector


def ep_record(
    idx: int,
    text: str,
    targets: Sequence[dict[str, Any]],
    two_spans: bool,
    labels: LabelMap,
    path: Path | str,
    line: int | None,
) -> Record:
    """The canonical edge-probing record of one sentence, every target checked against its words."""
    n_words = len(text.split())
    span1, span2, vectors = [], [], []
    for target in targets:
        if not isinstance(target, dict) or "span1" not in target or "label" not in target:
            raise DataFormatError(path, line, "every target needs `span1` and `label`")
        span1.append(check_span(target["span1"], n_words, "span1", path, line))
        if two_spans:
            if "span2" not in target:
                raise DataFormatError(path, line, "this task's targets need `span2`")
            span2.append(check_span(target["span2"], n_words, "span2", path, line))
        else:
            span2.append(NO_SPAN)
        vectors.append(multi_hot(target["label"], labels, path, line))
    return {"idx": idx, "text": text, "span1": span1, "span2": span2, "labels": vectors}


def read_ep_lines(path: Path) -> Iterator[tuple[int, str, list[Any]]]:
    """(line, text, targets) of each JSON line of an edge-probing file."""
    for line, obj in json_objects(path):
        if not isinstance(obj.get("text"), str):
            raise DataFormatError(path, line, "expected an object with a string `text`")
        targets = obj.get("targets", [])
        if not isinstance(targets, list):
            raise DataFormatError(path, line, "`targets` must be a list")
        yield line, obj["text"], targets


class EdgeProbingReader(LocalReader):
    """jiant's edge-probing JSON-lines files.

    Args:
        files: split -> file name(s).
        two_spans: whether targets carry `span2` (SRL, coref, SPR, DPR, relations, dependencies).
        origin: where users get the files.
    """

    def __init__(self, files: dict[str, Any], two_spans: bool, origin: str = "") -> None:
        super().__init__(files, origin)
        self.two_spans = two_spans

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, text, targets in read_ep_lines(path):
                yield ep_record(idx, text, targets, self.two_spans, labels, path, line)
                idx += 1

    def label_set(self, task_dir: Path) -> list[str]:
        """The sorted labels of the training file(s), for yamls with `labels_from_train: true`."""
        found: set[str] = set()
        for path in self.split_paths(task_dir, "train"):
            for line, _, targets in read_ep_lines(path):
                for target in targets:
                    label = target.get("label") if isinstance(target, dict) else None
                    names = label if isinstance(label, list) else [label]
                    if not all(isinstance(n, str) and n for n in names):
                        raise DataFormatError(path, line, f"label {label!r} is not a label string")
                    found.update(names)
        return sorted(found)


def word_char_spans(text: str) -> list[tuple[int, int]]:
    """Character span of every whitespace-separated word (the words `text.split()` gives)."""
    return [(m.start(), m.end()) for m in WORD.finditer(text)]


def word_token_bounds(
    words: Sequence[tuple[int, int]], offsets: Sequence[Sequence[int]], sequence_ids: Sequence[int | None]
) -> tuple[list[int], list[int]]:
    """First sub-token and one-past-last sub-token of every word (-1 where truncation cut the word).

    Args:
        words: character span of each word.
        offsets: the fast tokenizer's `offset_mapping` for one sequence.
        sequence_ids: which part each token belongs to; only tokens of the part the words come from
            should be passed as not-None (others are skipped, e.g. a question before the context).
    """
    owner = {}
    for w, (start, end) in enumerate(words):
        for c in range(start, end):
            owner[c] = w
    first, last = [-1] * len(words), [-1] * len(words)
    for t, ((start, end), part) in enumerate(zip(offsets, sequence_ids, strict=True)):
        if part is None or end <= start:
            continue  # special tokens and zero-width pieces belong to no word
        w = next((owner[c] for c in range(start, end) if c in owner), None)
        if w is None:
            continue
        if first[w] < 0:
            first[w] = t
        last[w] = t + 1
    return first, last


def project_span(span: Sequence[int], first: list[int], last: list[int]) -> list[int] | None:
    """Word span [i, j) -> sub-token span [s, e), or None when truncation cut it."""
    i, j = span
    if first[i] < 0 or last[j - 1] < 0:
        return None
    return [first[i], last[j - 1]]


class EdgeProbingFeaturizer(Featurizer):
    """One sequence per sentence; every target's word spans projected to sub-token spans.

    Args:
        two_spans: whether targets have a second span.
    """

    version = 1
    keep_columns = ()  # rows are dropped (sentences without targets), so every column is rebuilt
    pad_values = {"input_ids": -1, "attention_mask": 0}

    def __init__(self, two_spans: bool) -> None:
        self.two_spans = two_spans

    def _project(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Iterator[Any]:
        encoded = self.tokenize(tokenizer, batch["text"], None, max_length, offsets=True)
        for i, text in enumerate(batch["text"]):
            first, last = word_token_bounds(
                word_char_spans(text), encoded["offset_mapping"][i], encoded.sequence_ids(i)
            )
            kept, cut = [], 0
            for t, (s1, s2) in enumerate(zip(batch["span1"][i], batch["span2"][i], strict=True)):
                p1 = project_span(s1, first, last)
                p2 = project_span(s2, first, last) if self.two_spans else NO_SPAN
                if p1 is None or p2 is None:
                    cut += 1
                else:
                    kept.append((p1, p2, batch["labels"][i][t]))
            yield encoded, i, kept, cut

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        out: Batch = {
            k: [] for k in ("input_ids", "attention_mask", "length", "idx", "span1", "span2", "labels")
        }
        for encoded, i, kept, _ in self._project(batch, tokenizer, max_length):
            if not kept:
                continue  # no target (left): nothing to learn or score in this sentence
            out["input_ids"].append(encoded["input_ids"][i])
            out["attention_mask"].append(encoded["attention_mask"][i])
            out["length"].append(len(encoded["input_ids"][i]))
            out["idx"].append(batch["idx"][i])
            out["span1"].append([k[0] for k in kept])
            out["span2"].append([k[1] for k in kept])
            out["labels"].append([k[2] for k in kept])
        return out

    def segments(self, batch: Batch) -> tuple[list[str], None]:
        return batch["text"], None

    def describe(self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict:
        sentences = targets = no_targets = cut = emptied = 0
        for start in range(0, len(raw), 1000):
            batch = raw[start : start + 1000]
            for _, i, kept, lost in self._project(batch, tokenizer, max_length):
                sentences += 1
                targets += len(batch["span1"][i])
                no_targets += not batch["span1"][i]
                cut += lost
                emptied += bool(batch["span1"][i]) and not kept
        return {
            "sentences": sentences,
            "targets": targets,
            "targets per sentence": round(targets / max(1, sentences), 2),
            "sentences skipped (no targets)": no_targets,
            "targets dropped (cut by truncation)": cut,
            "sentences skipped (all targets cut)": emptied,
        }

    def collator(self, pad_token_id: int) -> Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]]:
        return EdgeProbingCollator(pad_token_id)


class EdgeProbingCollator:
    """Pads token sequences and the per-sentence target lists to `[B, T]` with a `target_mask`."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        def pad(key: str, value: int) -> torch.Tensor:
            rows = [torch.as_tensor(e[key], dtype=torch.long) for e in examples]
            return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=value)

        return {
            "input_ids": pad("input_ids", self.pad_token_id),
            "attention_mask": pad("attention_mask", 0),
            "idx": torch.as_tensor([e["idx"] for e in examples], dtype=torch.long),
            "span1": pad("span1", 0),  # [B, T, 2]; padded targets are masked out by target_mask
            "span2": pad("span2", 0),
            "labels": pad("labels", 0),  # [B, T, n_labels] multi-hot
            "target_mask": pad_mask([len(e["span1"]) for e in examples]),
        }


def pad_mask(counts: Sequence[int]) -> torch.Tensor:
    """`[B, max(counts)]` bool mask of the real entries of each row."""
    width = max(counts) if counts else 0
    return torch.arange(width)[None, :] < torch.as_tensor(counts)[:, None]
