"""TaskDataModule: one task's splits, read, featurized and served in length-grouped batches."""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import datasets
import lightning as L
from hydra.utils import instantiate
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from stilts.cache import file_sha256
from stilts.contracts import ReadsLabelSet
from stilts.errors import ConfigError, DataFormatError, MissingDataError
from stilts.tasks.batching import batch_loader
from stilts.tasks.featurizers import Featurizer
from stilts.tasks.spec import TaskSpec

log = logging.getLogger(__name__)
SOURCES = ("auto", "local", "hub")
SUBSET_SEED = 42


class TaskDataModule(L.LightningDataModule):
    """Reads a task from local files or the Hub, featurizes it (cached) and serves batches.

    Args:
        spec: the task.
        tokenizer: the encoder's (fast) tokenizer.
        data_dir: root of local data; the task reads `data_dir/<task name>/`.
        cache_dir: root of the Arrow caches.
        source: `local`, `hub`, or `auto` (local when the task's folder exists, else the Hub).
        max_length: sequence length cap in tokens (`model.max_length`).
        truncation: `model.truncation`: `segment` (each text segment cut to `max_length - 2` tokens,
            jiant's rule) or `pair` (the whole sequence cut to `max_length`); stilts.tasks.truncation.
        seed: shuffling seed of the training batches.
        num_workers: dataloader worker processes.
        length_grouped: training batches of similar lengths (`data.length_grouped`), else random ones.
    """

    def __init__(
        self,
        spec: TaskSpec,
        tokenizer: PreTrainedTokenizerBase,
        data_dir: str | Path,
        cache_dir: str | Path,
        source: str = "auto",
        max_length: int = 256,
        truncation: str = "segment",
        seed: int = 0,
        num_workers: int = 0,
        length_grouped: bool = True,
    ) -> None:
        super().__init__()
        if source not in SOURCES:
            raise ConfigError(f"`data.source` is {source!r}; use one of {SOURCES}")
        self.spec = spec
        self.tokenizer = tokenizer
        try:
            self.task_dir = Path(data_dir).expanduser().resolve() / spec.name
        except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
            raise MissingDataError(
                f"`paths.data_dir` {data_dir} cannot be resolved ({err}); fix the link or set "
                "`paths.data_dir` to a readable folder"
            ) from None
        self.cache_dir = Path(cache_dir).expanduser().resolve()
        self.source = source
        self.max_length = max_length
        self.seed = seed
        # Set by a stage whose control adds batches of its own (stilts.controls.mlm_mix).
        self.train_wrapper: Callable[[DataLoader], Iterable] | None = None
        self.num_workers = num_workers
        self.length_grouped = length_grouped
        if spec.cfg.get("labels_from_train") and not spec.labels:
            self.spec = spec.with_labels(self._train_labels())
        self.featurizer: Featurizer = instantiate(spec.cfg.featurizer)
        self.featurizer.set_truncation(truncation)
        self.features: dict[str, datasets.Dataset] = {}
        self.records: dict[str, datasets.Dataset] = {}  # the canonical records each split was featurized from
        self.full_validation = False

    # ----- reading -----------------------------------------------------------------------------
    def local_reader(self) -> Any:
        """The task's local reader; it gets the task's `origin` (where users get the files) to name in
        its messages, so task yamls need not repeat it."""
        return instantiate(self.spec.cfg.local, origin=self.spec.cfg.get("origin") or "")

    def resolved_source(self) -> str:
        """`local` or `hub`, after resolving `auto`; says where it looked when neither is usable."""
        has_local = self.spec.cfg.get("local") is not None
        has_hub = self.spec.cfg.get("hub") is not None
        if self.source == "local" or (self.source == "auto" and self._has_local_folder()):
            if not has_local:
                raise ConfigError(
                    f"task `{self.spec.name}` defines no local reader (`{self.spec.name}.local`)"
                )
            if not self.task_dir.is_dir():
                raise MissingDataError(
                    f"task `{self.spec.name}`: no data folder at {self.task_dir} "
                    f"(set `paths.data_dir`; {self.spec.cfg.get('origin', 'see docs/data.md for sources')})"
                )
            return "local"
        if not has_hub:
            raise MissingDataError(
                f"task `{self.spec.name}`: no local folder at {self.task_dir} and no Hub source; "
                f"{self.spec.cfg.get('origin', 'see docs/data.md for sources')}"
            )
        return "hub"

    def _has_local_folder(self) -> bool:
        """Whether the task's local folder exists. Something there that is no readable folder (a
        broken or looping symlink, a file, a folder that cannot be listed) is an error: falling back
        to the Hub would silently train on other data than the user put there."""
        broken = None
        try:
            if self.task_dir.is_dir():
                os.listdir(self.task_dir)
                return True
        except OSError as err:
            broken = err.strerror or str(err)
        if broken is None and not os.path.lexists(self.task_dir):
            return False
        raise MissingDataError(
            f"task `{self.spec.name}`: {self.task_dir} exists but is no readable folder "
            f"({broken or 'a broken or looping symlink, or a file'}); fix or remove it, or set "
            "`paths.data_dir` elsewhere (stilts does not fall back to the Hub when the local folder "
            "is unusable)"
        )

    def _train_labels(self) -> list[str]:
        """The sorted label set of the training split (open-ended label sets, e.g. CCG supertags)."""
        source = self.resolved_source()
        reader = self.local_reader() if source == "local" else instantiate(self.spec.cfg.hub)
        if not isinstance(reader, ReadsLabelSet):
            raise ConfigError(
                f"task `{self.spec.name}`: `labels_from_train` needs a {source} reader with `label_set`"
            )
        labels = list(reader.label_set(self.task_dir))
        if not labels:
            raise MissingDataError(f"task `{self.spec.name}`: the training split has no labels")
        return labels

    def read_split(self, split: str) -> datasets.Dataset:
        """The canonical records of one split (`train`, `val` or `test`)."""
        if self.resolved_source() == "local":
            reader = self.local_reader()
            return reader.read(self.task_dir, split, self.spec.labels, self.cache_dir)
        reader = instantiate(self.spec.cfg.hub)
        try:
            return reader.read(split, self.spec.labels, self.cache_dir)
        except MissingDataError as err:  # HubReader turns every failure of `datasets` into one
            local = f"no local folder at {self.task_dir}, and " if self.source == "auto" else ""
            raise MissingDataError(
                f"task `{self.spec.name}`: {local}{err}. Download the local files "
                f"({self.spec.cfg.get('origin', 'see docs/data.md for sources')}) to {self.task_dir}/ "
                "and rerun (or set `paths.data_dir` to the folder that holds them)"
            ) from err.__cause__

    def skipped(self, split: str) -> dict[str, int]:
        """Records the local reader leaves out of a split by design, counted (none for the Hub)."""
        if self.resolved_source() != "local":
            return {}
        return self.local_reader().skipped(self.task_dir, split)

    def flagged(self, split: str) -> dict[str, int]:
        """Records the local reader keeps with a warning, counted (none for the Hub)."""
        if self.resolved_source() != "local":
            return {}
        return self.local_reader().flagged(self.task_dir, split)

    def where(self, split: str) -> str:
        """The files (local) or the Hub dataset (hub) of a split, for messages."""
        if self.resolved_source() == "local":
            reader = self.local_reader()
            return ", ".join(str(p) for p in reader.split_paths(self.task_dir, split))
        return f"hub:{self.spec.cfg.hub.path}/{self.spec.cfg.hub.get('name') or ''}"

    def check_labels(self, split: str, raw: datasets.Dataset) -> None:
        """Training needs some gold labels; validation scores every example, so needs all of them."""
        counts = self.featurizer.label_counts(raw)
        if counts is None or split not in ("train", "val"):
            return
        labelled, total = counts
        source = self.resolved_source()
        files = f"`{self.spec.name}.{source}.{'files' if source == 'local' else 'splits'}.{split}`"
        if split == "train" and labelled == 0:
            raise DataFormatError(
                self.where(split), None,
                f"split `train` has no gold labels in any of its {total} examples, so there is "
                f"nothing to learn from; is this a test file? Check {files} and the records' label field",
            )  # fmt: skip
        if split == "val" and labelled < total:
            raise DataFormatError(
                self.where(split), None,
                f"split `val`: {total - labelled} of its {total} examples have no gold label; "
                f"validation scores every example, so each needs its label; check {files}",
            )  # fmt: skip

    def data_fingerprint(self, split: str) -> str:
        """A content hash of a split's data: the files' bytes (local) or the Hub dataset's fingerprint."""
        if self.resolved_source() == "local":
            reader = self.local_reader()
            paths = reader.split_paths(self.task_dir, split)
            files = ",".join(f"{p.name}:{file_sha256(p)}" for p in paths)
            return files if reader.resplit is None else f"{files};{reader.resplit}:{split}"
        return self.read_split(split)._fingerprint

    def featurized(self, split: str) -> datasets.Dataset:
        if split not in self.features:
            raw = self.read_split(split)
            self.check_labels(split, raw)
            if split == "train" and self.spec.train_size is not None and self.spec.train_size < len(raw):
                # One fixed subset per size, shared by all restarts (the paper's size curves).
                raw = raw.shuffle(seed=SUBSET_SEED).select(range(self.spec.train_size))
            self.records[split] = raw
            self.features[split] = self.featurizer(raw, self.tokenizer, self.max_length, self.cache_dir)
        return self.features[split]

    # ----- Lightning hooks ---------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            self.featurized("train")
        self.featurized("val")

    @property
    def train_size(self) -> int:
        return len(self.featurized("train"))

    def majority_label(self) -> int | None:
        """The most frequent training label, for the degenerate-run check (None without labels)."""
        train = self.featurized("train")
        if "label" not in train.column_names or not self.spec.labels:
            return None
        counts = Counter(int(x) for x in train["label"] if int(x) >= 0)
        return counts.most_common(1)[0][0] if counts else None

    def _loader(self, dataset: datasets.Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        collate = self.featurizer.collator(self.tokenizer.pad_token_id)
        return batch_loader(
            dataset, batch_size, shuffle, seed=self.seed, collate_fn=collate, num_workers=self.num_workers,
            length_grouped=self.length_grouped, trainer=self.trainer,
        )  # fmt: skip

    def train_dataloader(self) -> Iterable:
        loader = self._loader(self.featurized("train"), self.spec.batch_size, shuffle=True)
        return self.train_wrapper(loader) if self.train_wrapper is not None else loader

    def mid_training_rows(self) -> list[int] | None:
        """The featurized dev rows mid-training validation scores, or None for the whole dev set.

        jiant validates mid-training on the first `val_data_limit` (5,000) dev instances in the order
        its task holds them (jiant/trainer.py:843-851: `instances_per_epoch`, `shuffle=False`;
        jiant/config/defaults.conf:158); QA-SRL and QAMR shuffled that list with a fixed seed when
        reading it (`val_shuffle_seed`). Instances are counted as jiant counts them (the featurizer
        maps each to its row; ReCoRD: one per (query, entity mention)). The final score uses all rows.
        """
        limit = self.spec.val_limit
        if self.full_validation or limit is None:
            return None
        features = self.featurized("val")
        instances = self.featurizer.validation_instances(self.records["val"], features)
        if self.spec.val_shuffle_seed is not None:
            # Shuffling row numbers permutes them as jiant permuted its equally long example list:
            # random.shuffle's permutation depends only on the length and the seed.
            random.Random(self.spec.val_shuffle_seed).shuffle(instances)
        elif len(instances) <= limit:
            return None
        return list(dict.fromkeys(instances[:limit]))  # ReCoRD: repeated mentions share one row

    def val_dataloader(self) -> DataLoader:
        val = self.featurized("val")
        rows = self.mid_training_rows()
        if rows is not None:
            val = val.select(rows)
        return self._loader(val, self.spec.batch_size * 2, shuffle=False)
