"""Featurizers: canonical records -> model inputs, with `Dataset.map` and its Arrow cache.

A featurizer's output is cached under `${paths.cache_dir}/features/`, named by a fingerprint of the
input data, the featurizer (class, options and `version`), the tokenizer and the max length, so a
second run with the same inputs loads the Arrow file instead of tokenizing again. Bump `version`
when a featurizer's output changes.

Every featurizer tokenizes through `Featurizer.tokenize`, which truncates under `model.truncation`
(stilts.tasks.truncation: `segment`, jiant's rule, or `pair`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import datasets
from transformers import BatchEncoding, PreTrainedTokenizerBase

from stilts.tasks import truncation
from stilts.tasks.batching import PaddingCollator
from stilts.tasks.values import UNLABELED

Batch = dict[str, list[Any]]


def tokenizer_digest(tokenizer: PreTrainedTokenizerBase) -> str:
    """A hash of the tokenizer's vocabulary, rules and special tokens (cached on the object)."""
    cached = getattr(tokenizer, "_stilts_digest", None)
    if cached is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        body = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        cached = hashlib.sha256(body.encode()).hexdigest()[:16]
        tokenizer._stilts_digest = cached
    return cached


class Featurizer:
    """Base class: subclasses implement `encode` on a batch of canonical records.

    `pad_values` lists the sequence columns the collator pads, with their padding value (the
    tokenizer's pad id is filled in for `input_ids`); every other column is stacked as is.
    """

    version: ClassVar[int] = 1
    # Canonical columns kept beside the model inputs (e.g. gold answer strings for a metric).
    keep_columns: ClassVar[tuple[str, ...]] = ("idx", "label")
    # Columns a metric reads from the featurized dataset by `idx`: left out of batches.
    metric_columns: ClassVar[tuple[str, ...]] = ()
    pad_values: ClassVar[dict[str, int]] = {"input_ids": -1, "attention_mask": 0, "token_type_ids": 0}
    # `model.truncation`; TaskDataModule sets it from the config, the class default is the paper's rule.
    truncation: str = "segment"

    def set_truncation(self, mode: str) -> None:
        self.truncation = truncation.check_mode(mode)

    def tokenize(
        self,
        tokenizer: PreTrainedTokenizerBase,
        firsts: list[str],
        seconds: list[str] | None,
        max_length: int,
        *,
        offsets: bool = False,
        pair_strategy: bool | str = True,
    ) -> BatchEncoding:
        """Single texts or pairs, truncated under this featurizer's `truncation` (the one place)."""
        return truncation.encode(
            tokenizer,
            firsts,
            seconds,
            max_length=max_length,
            mode=self.truncation,
            offsets=offsets,
            pair_strategy=pair_strategy,
        )

    def segments(self, batch: Batch) -> tuple[list[str], list[str] | None]:
        """The text segments of every sequence `encode` makes from `batch`: (firsts, seconds or None)."""
        raise NotImplementedError

    def untruncated_lengths(self, batch: Batch, tokenizer: PreTrainedTokenizerBase) -> list[int]:
        """Token counts before truncation, boundary tokens included (the data report's percentiles)."""
        return [len(ids) for ids in tokenizer(*self.segments(batch))["input_ids"]]

    def truncated(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> list[bool]:
        """Whether truncation cuts each sequence of `segments(batch)` (the data report's share)."""
        firsts, seconds = self.segments(batch)
        return truncation.truncated(tokenizer, firsts, seconds, max_length=max_length, mode=self.truncation)

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        raise NotImplementedError

    def fingerprint(
        self, dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> str:
        # Public attributes are the featurizer's options; private ones hold run-time state.
        options = repr(sorted((k, v) for k, v in vars(self).items() if not k.startswith("_")))
        parts = [dataset._fingerprint, type(self).__qualname__, str(self.version), options]
        parts += [tokenizer_digest(tokenizer), str(max_length), self.truncation]
        parts += [str(truncation.usable_positions(tokenizer))]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def __call__(
        self, dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int, cache_dir: Path
    ) -> datasets.Dataset:
        key = self.fingerprint(dataset, tokenizer, max_length)
        out_dir = cache_dir / "features"
        out_dir.mkdir(parents=True, exist_ok=True)
        return dataset.map(
            self.encode,
            batched=True,
            fn_kwargs={"tokenizer": tokenizer, "max_length": max_length},
            remove_columns=[c for c in dataset.column_names if c not in self.keep_columns],
            cache_file_name=str(out_dir / f"{key}.arrow"),
            new_fingerprint=key,
            load_from_cache_file=True,
            desc=f"featurize ({type(self).__name__})",
        )

    def describe(
        self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> dict[str, Any]:
        """Task-specific facts for `stilts-data` (choices per question, spans per sentence, spans
        lost to truncation, skipped records...). The base class has none."""
        return {}

    def validation_instances(self, raw: datasets.Dataset, features: datasets.Dataset) -> list[int]:
        """The featurized dev row of each of jiant's dev instances, in jiant's order (the order its
        mid-training validation takes the first `val_limit` from). Here one row per instance, in file
        order; featurizers whose rows differ from jiant's instances override it."""
        return list(range(len(features)))

    def label_counts(self, raw: datasets.Dataset) -> tuple[int, int] | None:
        """(records with a gold label, records) of a split's canonical records, or None for tasks
        whose records always carry their gold (span QA, edge probing, tagging, masked LM)."""
        if "label" not in raw.column_names:
            return None
        labels = raw.with_format("numpy", columns=["label"])[:]["label"]
        return int((labels != UNLABELED).sum()), len(raw)

    def collator(self, pad_token_id: int) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
        """The batch collator for this featurizer's output (override for nested inputs)."""
        return PaddingCollator(self.pad_values, pad_token_id, skip=self.metric_columns)


class ClassificationFeaturizer(Featurizer):
    """One text (`text_a`) or a pair (`text_a`, `text_b`) -> one sequence."""

    def __init__(self, pair: bool = True) -> None:
        self.pair = pair

    def segments(self, batch: Batch) -> tuple[list[str], list[str] | None]:
        return batch["text_a"], batch["text_b"] if self.pair else None

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        encoded = self.tokenize(tokenizer, *self.segments(batch), max_length)
        out = dict(encoded)
        out["length"] = [len(ids) for ids in encoded["input_ids"]]
        return out
