"""Readers of the SentEval probing tasks and the DNC function-word acceptability tasks.

SentEval (se_sentlen se_wc se_treedepth se_topconst se_bshift se_tense se_subjnum se_objnum se_somo
se_coordinv; Conneau et al. 2018, GitHub facebookresearch/SentEval `data/probing/`): one file per task,
each line `partition \\t label \\t sentence` with partition in {tr, va, te}, Moses-tokenised. The
splits live in one file and are selected by the partition column (tr -> train, va -> val,
te -> test). Labels per task: see its yaml. Paper score: accuracy.

Function words (aj_wh aj_def aj_coord aj_eos; Kim et al. 2019, GitHub
decompositional-semantics-initiative/DNC `function_words/ACCEPTABILITY/`): `<name>_data.json` is a
JSON array of `{"binary-label", "context", "hypothesis", "label": "acceptable|unacceptable",
"label-set", "pair-id", "split", "type-of-inference"}`; `<name>_metadata.json` is an array aligned by
position whose `misc.fold1..fold10` put each record in train/dev/test of a 10-fold cross-validation.
jiant uses fold 1; the fold is a reader option. The sentence is `context` (for aj_eos too, as in
jiant v2, although its `hypothesis` holds the following text). Labels: unacceptable, acceptable.
Paper score: (accuracy + F1 of `acceptable`) / 2 (jiant v1 acc_f1).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import datasets

from stilts.errors import ConfigError, DataFormatError, MissingDataError
from stilts.tasks.readers import LocalReader, Record, decoded_lines
from stilts.tasks.strict_json import JsonProblem, strict_json
from stilts.tasks.values import LabelMap

SENTEVAL_PARTITIONS = {"train": "tr", "val": "va", "test": "te"}
DNC_SPLITS = {"train": "train", "val": "dev", "test": "test"}
DNC_FOLDS = range(1, 11)


class SentEvalReader(LocalReader):
    """A SentEval probing file: `partition \\t label \\t sentence`, all splits in one file.

    Args:
        file: the task's file name, e.g. `bigram_shift.txt`.
        partitions: stilts split -> partition value (default tr/va/te).
        origin: where a user gets the file; shown when it is missing.
    """

    def __init__(self, file: str, partitions: Mapping[str, str] | None = None, origin: str = "") -> None:
        self.partitions = dict(partitions or SENTEVAL_PARTITIONS)
        super().__init__({split: file for split in self.partitions}, origin)
        # Set on the per-split copy `read` makes; part of the Arrow cache key, so the splits of
        # one file never share a cache entry.
        self.partition: str | None = None

    def read(self, task_dir: Path, split: str, labels: Any, cache_dir: Path) -> datasets.Dataset:
        if split not in self.partitions:
            raise MissingDataError(f"no partition is configured for split `{split}` ({self.partitions})")
        reader = copy.copy(self)
        reader.partition = self.partitions[split]
        return LocalReader.read(reader, task_dir, split, labels, cache_dir)

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        known = set(self.partitions.values())
        idx = 0
        for path in paths:
            for line, partition, label, sentence in _senteval_lines(path, known):
                if partition == self.partition:
                    yield {"idx": idx, "text_a": sentence, "label": labels(label, path, line)}
                    idx += 1
        if idx == 0:
            split = next(s for s, p in self.partitions.items() if p == self.partition)
            raise MissingDataError(
                f"{', '.join(map(str, paths))} has no `{self.partition}` lines, so split `{split}` is "
                "empty (the full SentEval file has tr, va and te lines)"
            )

    def label_set(self, task_dir: Path) -> list[str]:
        """The sorted label values of the training partition (for open label sets such as se_wc)."""
        path = self.split_paths(task_dir, "train")[0]
        stat = path.stat()
        found = _partition_labels(
            str(path.resolve()), stat.st_size, stat.st_mtime_ns, self.partitions["train"],
            tuple(sorted(set(self.partitions.values()))),
        )  # fmt: skip
        if not found:
            raise MissingDataError(f"{path} has no `{self.partitions['train']}` lines to take labels from")
        return list(found)


def _senteval_lines(path: Path, partitions: set[str]) -> Iterator[tuple[int, str, str, str]]:
    """(line, partition, label, sentence) of every non-empty line, checking the columns."""
    for line, text in decoded_lines(path):
        if not text.strip():
            continue
        cells = text.split("\t")
        if len(cells) != 3:
            raise DataFormatError(
                path,
                line,
                f"expected 3 tab-separated columns (partition, label, sentence), found {len(cells)}",
            )
        partition, label, sentence = cells
        if partition not in partitions:
            raise DataFormatError(path, line, f"partition {partition!r} is not one of {sorted(partitions)}")
        if not sentence.strip() or not label:
            raise DataFormatError(path, line, "empty label or sentence")
        yield line, partition, label, sentence


@functools.lru_cache(maxsize=32)
def _partition_labels(
    path: str, size: int, mtime_ns: int, partition: str, partitions: tuple[str, ...]
) -> tuple[str, ...]:
    # Keyed by size and mtime so an edited file is read again; the config resolver asks often.
    found = {label for _, part, label, _ in _senteval_lines(Path(path), set(partitions)) if part == partition}
    return tuple(sorted(found))


class DNCAcceptabilityReader(LocalReader):
    """A DNC function-word acceptability task: a data array and its metadata array, split by a fold.

    Args:
        data_file: e.g. `acceptability-whwords_data.json`.
        metadata_file: e.g. `acceptability-whwords_metadata.json`.
        fold: which of the 10 cross-validation folds (`misc.fold1..fold10`) gives the splits.
        text_field: the data field holding the sentence (`context`).
        origin: where a user gets the files; shown when they are missing.
    """

    def __init__(
        self,
        data_file: str,
        metadata_file: str,
        fold: int = 1,
        text_field: str = "context",
        origin: str = "",
    ) -> None:
        super().__init__({split: [data_file, metadata_file] for split in DNC_SPLITS}, origin)
        if int(fold) not in DNC_FOLDS:
            raise ConfigError(f"`local.fold` is {fold}; the DNC metadata has folds 1..10")
        self.fold = int(fold)
        self.text_field = text_field
        self.split: str | None = None  # set on the per-split copy `read` makes (part of the cache key)

    def read(self, task_dir: Path, split: str, labels: Any, cache_dir: Path) -> datasets.Dataset:
        reader = copy.copy(self)
        reader.split = DNC_SPLITS.get(split)
        return LocalReader.read(reader, task_dir, split, labels, cache_dir)

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        data_path, meta_path = paths
        data, meta = _json_array(data_path), _json_array(meta_path)
        if len(data) != len(meta):
            raise DataFormatError(
                data_path, None, f"holds {len(data)} records but its metadata {meta_path} holds {len(meta)}"
            )
        key, idx = f"fold{self.fold}", 0
        for position, (record, info) in enumerate(zip(data, meta, strict=True)):
            where = f"record {position}"
            if not isinstance(record, dict) or not isinstance(info, dict):
                raise DataFormatError(data_path, None, f"{where}: expected JSON objects in both files")
            data_id, meta_id = record.get("pair-id"), info.get("pair-id")
            if data_id is None or data_id != meta_id:
                raise DataFormatError(
                    data_path, None,
                    f"{where} has pair-id {data_id!r} but {meta_path} has {meta_id!r} at that position",
                )  # fmt: skip
            misc = info.get("misc")
            split = misc.get(key) if isinstance(misc, dict) else None
            if split not in DNC_SPLITS.values():
                raise DataFormatError(
                    meta_path, None, f"{where}: `misc.{key}` is {split!r}, not train/dev/test"
                )
            if split != self.split:
                continue
            text = record.get(self.text_field)
            if not isinstance(text, str) or not text.strip():
                raise DataFormatError(data_path, None, f"{where}: no text in `{self.text_field}`")
            if not record.get("label"):
                raise DataFormatError(data_path, None, f"{where}: no `label`")
            label = labels(record["label"], f"{data_path} ({where})", None)
            yield {"idx": idx, "text_a": text, "label": label, "pair_id": str(data_id)}
            idx += 1


def _json_array(path: Path) -> list[Any]:
    try:
        with path.open(encoding="utf-8-sig") as handle:  # -sig: drop a BOM
            value = strict_json(handle.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFormatError(path, getattr(err, "lineno", None), f"invalid JSON ({err})") from None
    except JsonProblem as err:
        raise DataFormatError(path, None, str(err)) from None
    if not isinstance(value, list):
        raise DataFormatError(path, None, "expected a JSON array of records")
    return value
