"""Readers: raw task data (local files in their original format, or the Hub) -> `datasets.Dataset`.

Every reader yields records with canonical columns (`idx`, `label` and the text columns its task's
featurizer expects, e.g. `text_a`/`text_b`). Local readers name the file and line of any malformed
record. `Dataset.from_generator` writes records to Arrow under the cache dir (keyed by reader, split,
file size and mtime): data is memory-mapped, not held in Python lists, and read back on reruns.

Files are UTF-8; a byte order mark at the start (as Windows tools write it) is dropped. Text fields
must be JSON strings: a null, number or list where text belongs is an error, never the text "None".
JSON is read strictly (`strict_json`): an object with a duplicated key is malformed (Python's `json`
would keep the last value silently), and so is nesting too deep to read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
from datasets.arrow_writer import SchemaInferenceError

from stilts.errors import DataFormatError, MissingDataError, StiltsError
from stilts.tasks.resplit import RESPLIT_PARTS, Resplit
from stilts.tasks.strict_json import JsonProblem, strict_json
from stilts.tasks.values import UNLABELED, LabelMap, text_value

Record = dict[str, Any]


BOM = "\ufeff"


def decoded_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text without newline), naming the line of undecodable bytes.

    A UTF-8 byte order mark before the first line is dropped, so a header or JSON object behind it
    reads as written.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise DataFormatError(path, number, f"bytes that are not UTF-8 ({err.reason})") from None
            yield number, text.removeprefix(BOM) if number == 1 else text


def check_readable(path: Path) -> None:
    """Open `path` once, so an unreadable file is reported by name before any work starts."""
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise MissingDataError(
            f"cannot read {path} ({err.strerror or err}); make the file readable for this user "
            "(e.g. chmod a+r) or set `paths.data_dir` to a folder with a readable copy"
        ) from None


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) of a JSON-lines file, naming the line of invalid JSON."""
    for line, text in decoded_lines(path):
        if not text.strip():
            continue
        try:
            obj = strict_json(text)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, line, f"invalid JSON ({err.msg})") from None
        except JsonProblem as err:
            raise DataFormatError(path, line, str(err)) from None
        if not isinstance(obj, dict):
            raise DataFormatError(path, line, "expected a JSON object")
        yield line, obj


def dotted(record: Mapping[str, Any], key: str, path: Path, line: int) -> Any:
    """Look up `a.b.c` in nested dicts, naming the missing field."""
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise DataFormatError(path, line, f"missing field `{key}`")
        value = value[part]
    return value


class LocalReader:
    """Base of the readers of original-format files under `${paths.data_dir}/<task>/`.

    Args:
        files: split name (`train`, `val`, `test`) -> file name, or a list of names read one after
            the other (MNLI's matched + mismatched dev sets).
        origin: where a user gets these files; shown when a file is missing.
        label_values: raw label values in the order of the task's labels (default: the label names).
        resplit: draw train and val from one split's files (`Resplit`); null: each from its own.
    """

    def __init__(
        self,
        files: Mapping[str, str | Sequence[str]],
        origin: str = "",
        label_values: Sequence[Any] | None = None,
        resplit: Mapping[str, Any] | None = None,
    ) -> None:
        self.files = {
            split: [names] if isinstance(names, str) else list(names) for split, names in files.items()
        }
        self.origin = origin
        # Raw label values in the order of the task's labels (default: the label names themselves).
        self.label_values = None if label_values is None else list(label_values)
        self.resplit = None if resplit is None else Resplit(**resplit)

    def source_split(self, split: str) -> str:
        """The split whose files hold `split`'s records (another one under `resplit`)."""
        return self.resplit.source if self.resplit is not None and split in RESPLIT_PARTS else split

    def split_paths(self, task_dir: Path, split: str) -> list[Path]:
        """The files of a split, or a MissingDataError saying where it looked."""
        split = self.source_split(split)
        if split not in self.files:
            raise MissingDataError(
                f"no file is configured for split `{split}` (configured: {sorted(self.files)})"
            )
        paths = [task_dir / name for name in self.files[split]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            hint = f" Get it from: {self.origin}" if self.origin else ""
            raise MissingDataError(f"split `{split}`: no file at {', '.join(missing)}.{hint}")
        for path in paths:
            check_readable(path)
        return paths

    def skipped(self, task_dir: Path, split: str) -> dict[str, int]:
        """What the reader leaves out of a split by design, counted (shown by `stilts-data`)."""
        return {}

    def flagged(self, task_dir: Path, split: str) -> dict[str, int]:
        """What the reader keeps with a warning (a judgement check, not malformed input), counted."""
        return {}

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        """Yield the canonical records of the given files, in order."""
        raise NotImplementedError

    def read(self, task_dir: Path, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        whole = self.read_files(task_dir, split, labels, cache_dir)
        if self.resplit is not None and split in RESPLIT_PARTS:
            return self.resplit.part(whole, split)
        return whole

    def read_files(
        self, task_dir: Path, split: str, labels: Sequence[str], cache_dir: Path
    ) -> datasets.Dataset:
        """All records of the files `split` reads (the source split's under `resplit`)."""
        paths = self.split_paths(task_dir, split)
        stamps = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
        try:
            dataset = datasets.Dataset.from_generator(
                _generate,
                # Tuples, not lists: datasets would treat lists as shards to split between processes.
                gen_kwargs={
                    "reader": self,
                    "paths": tuple(paths),
                    "labels": tuple(labels),
                    "stamps": tuple(stamps),
                },
                cache_dir=str(cache_dir / "raw"),
            )
        except datasets.exceptions.DatasetGenerationError as err:
            cause = err.__cause__ or err.__context__
            if isinstance(cause, StiltsError):
                raise cause from None
            if isinstance(cause, OSError):  # the file went away or became unreadable meanwhile
                raise MissingDataError(
                    f"split `{split}`: cannot read {cause.filename or paths[0]} ({cause.strerror or cause})"
                ) from None
            if isinstance(cause, SchemaInferenceError):  # the generator yielded nothing
                raise DataFormatError(paths[0], None, f"split `{split}` holds no examples") from None
            raise
        if len(dataset) == 0:
            raise DataFormatError(paths[0], None, f"split `{split}` holds no examples")
        return dataset


def _generate(
    reader: LocalReader, paths: tuple[Path, ...], labels: tuple[str, ...], stamps: tuple
) -> Iterator[Record]:
    yield from reader.records(list(paths), LabelMap(labels, reader.label_values))


class JsonlReader(LocalReader):
    """JSON-lines files (SuperGLUE and most modern releases): one JSON object per line.

    Args:
        fields: canonical column -> JSON field (dotted paths reach into nested objects).
        label_values: raw label values in the order of the task's labels (default: the label names).
    """

    def __init__(
        self,
        files: Mapping[str, str | Sequence[str]],
        fields: Mapping[str, str],
        label_values: Sequence[Any] | None = None,
        origin: str = "",
        resplit: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(files, origin, label_values, resplit)
        self.fields = dict(fields)

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, obj in json_objects(path):
                record: Record = {"idx": idx}
                for column, key in self.fields.items():
                    if column == "label":
                        raw = obj.get(key) if key in obj else None  # test files carry no label
                        record["label"] = labels(raw, path, line)
                    else:
                        record[column] = text_value(dotted(obj, key, path, line), key, path, line)
                yield record
                idx += 1


class TsvReader(LocalReader):
    """Tab-separated files (GLUE, SciTail, CoLA), with or without a header line.

    Args:
        columns: canonical column -> header name (files with a header) or 0-based column index.
        header: whether the first line names the columns.
        num_columns: expected column count of a header-less file (checked on every line).
    """

    def __init__(
        self,
        files: Mapping[str, str | Sequence[str]],
        columns: Mapping[str, str | int],
        header: bool = True,
        num_columns: int | None = None,
        label_values: Sequence[Any] | None = None,
        origin: str = "",
        resplit: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(files, origin, label_values, resplit)
        self.columns = dict(columns)
        self.header = header
        self.num_columns = num_columns

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            position: dict[str, int] = {}
            width = self.num_columns
            for line, text in decoded_lines(path):
                cells = next(csv.reader([text], delimiter="\t", quoting=csv.QUOTE_NONE)) if text else []
                if self.header and line == 1:
                    position = {name: i for i, name in enumerate(cells)}
                    width = len(cells)
                    continue
                if not text.strip():
                    continue
                if width is not None and len(cells) != width:
                    raise DataFormatError(
                        path, line, f"expected {width} tab-separated columns, found {len(cells)}"
                    )
                record: Record = {"idx": idx}
                for column, key in self.columns.items():
                    where = position.get(key) if isinstance(key, str) else key
                    if where is None or where >= len(cells):
                        if column == "label":  # GLUE test files have no label column
                            record["label"] = UNLABELED
                            continue
                        raise DataFormatError(path, line, f"no column `{key}` for `{column}`")
                    value = cells[where]
                    record[column] = labels(value, path, line) if column == "label" else value
                yield record
                idx += 1
