"""Local readers of the multiple-choice tasks, in each dataset's original distribution format.

- COPA (SuperGLUE `{train,val,test}.jsonl`): `premise, choice1, choice2, question, label 0|1`.
- CommonsenseQA (`{train,dev}_rand_split.jsonl`): `answerKey, question{stem, choices[{label, text}]}`,
  or the flattened Hugging Face layout `question, choices{label[], text[]}, answerKey`.
- Cosmos QA (`train.csv`, `valid.csv`): header `id,context,question,answer0..answer3,label`.
- SocialIQA (`{train,dev}.jsonl` + `{train,dev}-labels.lst`, 1-based label per line).
- HellaSwag (`hellaswag_{train,val}.jsonl`): `ctx_a, ctx_b, endings[4], label` (int or string).
Labels: COPA choice1/choice2, CommonsenseQA A-E, Cosmos QA 0-3, SocialIQA A-C (files: 1-3),
HellaSwag 0-3. Paper score of all five: accuracy. Records are canonical multiple-choice records (see
`stilts.tasks.multiple_choice`): `idx`, `label` (index of the right choice), `context`, `choices`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from itertools import zip_longest
from pathlib import Path
from typing import Any

from stilts.errors import DataFormatError
from stilts.tasks.multiple_choice import (
    COPA_CONNECTIVES,
    commonsenseqa_texts,
    copa_texts,
    hellaswag_texts,
)
from stilts.tasks.readers import LocalReader, Record, decoded_lines, json_objects
from stilts.tasks.values import LabelMap, field

LabelOf = Callable[[Any], int]  # raw label value -> label index (UNLABELED when absent)
Example = tuple[str, list[str], int]  # context, choices, label


def _record(idx: int, example: Example) -> Record:
    context, choices, label = example
    if len(choices) < 2:
        raise ValueError(f"needs at least 2 choices, found {len(choices)}")
    if label >= len(choices):
        raise ValueError(f"label {label} points past the {len(choices)} choices")
    return {"idx": idx, "label": label, "context": context, "choices": choices}


class ChoiceJsonlReader(LocalReader):
    """Base of the JSON-lines multiple-choice readers: one question per line.

    Subclasses implement `example(obj, label_of)`; a ValueError there becomes a DataFormatError naming
    the file and line.

    Args:
        files: split -> file name(s).
        label_values: raw label values in the order of the task's labels (default: the label names).
        origin: where a user gets the files.
    """

    def example(self, obj: dict[str, Any], label_of: LabelOf) -> Example:
        raise NotImplementedError

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, obj in json_objects(path):
                try:
                    record = _record(idx, self.example(obj, lambda raw: labels(raw, path, line)))  # noqa: B023
                except ValueError as err:
                    raise DataFormatError(path, line, str(err)) from None
                yield record
                idx += 1


class CopaReader(ChoiceJsonlReader):
    """COPA: premise + "because"/"so" (per `question`), then each choice."""

    def __init__(self, *args: Any, connectives: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectives = dict(connectives or COPA_CONNECTIVES)

    def example(self, obj: dict[str, Any], label_of: LabelOf) -> Example:
        context, choices = copa_texts(
            field(obj, "premise"),
            field(obj, "question"),
            field(obj, "choice1"),
            field(obj, "choice2"),
            self.connectives,
        )
        return context, choices, label_of(obj.get("label"))


class CommonsenseQAReader(ChoiceJsonlReader):
    """CommonsenseQA: "Q: stem" / "A: choice"; `answerKey` names the right choice's letter.

    Reads the original layout (`question: {stem, choices: [{label, text}]}`) and, line by line, the
    flattened layout of the Hugging Face dataset saved as jsonl (`question: "<stem>"`,
    `choices: {label: [...], text: [...]}`), which some mirrors distribute.
    """

    def example(self, obj: dict[str, Any], label_of: LabelOf) -> Example:
        if isinstance(obj.get("question"), str):  # the flattened Hugging Face layout
            stem = field(obj, "question")
            flat = field(obj, "choices", dict)
            letters, texts = field(flat, "label", list), field(flat, "text", list)
            if len(letters) != len(texts):
                raise ValueError(f"choices has {len(letters)} labels but {len(texts)} texts")
            choices = [{"label": letter, "text": text} for letter, text in zip(letters, texts, strict=True)]
        else:
            question = field(obj, "question", dict)
            stem, choices = field(question, "stem"), field(question, "choices", list)
        letters = [field(choice, "label") for choice in choices]
        context, texts = commonsenseqa_texts(stem, [field(c, "text") for c in choices])
        key = obj.get("answerKey")
        label = label_of(key)  # rejects letters outside the task's labels
        if label >= 0:
            if key not in letters:
                raise ValueError(f"answerKey {key!r} is not among the choices {letters}")
            label = letters.index(key)
        return context, texts, label


class HellaSwagReader(ChoiceJsonlReader):
    """HellaSwag: ctx_a / ctx_b + " " + ending (jiant v1); labels are ints or digit strings."""

    def example(self, obj: dict[str, Any], label_of: LabelOf) -> Example:
        endings = field(obj, "endings", list)
        if not all(isinstance(e, str) for e in endings):
            raise ValueError("field `endings` must be a list of strings")
        context, choices = hellaswag_texts(field(obj, "ctx_a"), field(obj, "ctx_b"), endings)
        raw = obj.get("label")
        return context, choices, label_of(None if raw is None or raw == "" else str(raw))


class SocialIQAReader(ChoiceJsonlReader):
    """SocialIQA: the jsonl questions and, per split, the labels file beside them.

    Each split is configured as `[questions.jsonl, labels.lst]`: the labels file holds the 1-based
    right answer of the question on the same position, so both files make up the data fingerprint.
    """

    def example(self, obj: dict[str, Any], label_of: LabelOf) -> Example:
        context = f"{field(obj, 'context')} {field(obj, 'question')}"
        return context, [field(obj, key) for key in ("answerA", "answerB", "answerC")], label_of(None)

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        if len(paths) != 2:
            raise DataFormatError(paths[0], None, "SocialIQA needs [questions.jsonl, labels.lst] per split")
        data_path, labels_path = paths
        label_lines = ((n, t.strip()) for n, t in decoded_lines(labels_path) if t.strip())
        pairs = zip_longest(json_objects(data_path), label_lines)
        for idx, (question, answer) in enumerate(pairs):
            if question is None or answer is None:
                where, line = (labels_path, answer[0]) if question is None else (data_path, question[0])
                raise DataFormatError(
                    where,
                    line,
                    f"{data_path.name} and {labels_path.name} do not line up: {data_path} has "
                    f"{'fewer' if question is None else 'more'} questions than {labels_path} has labels",
                )
            (line, obj), (label_line, raw) = question, answer
            try:
                context, choices, _ = self.example(obj, lambda raw: -1)
            except ValueError as err:
                raise DataFormatError(data_path, line, str(err)) from None
            yield _record(idx, (context, choices, labels(raw, labels_path, label_line)))


class CosmosQAReader(LocalReader):
    """Cosmos QA csv (fields hold commas, quotes and newlines: read with the csv module).

    Errors name the line a record starts on. A file without a `label` column (test) is unlabeled.
    """

    COLUMNS = ("context", "question", "answer0", "answer1", "answer2", "answer3")

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            try:
                for line, row in self._rows(path):
                    context = f"{row['context']} {row['question']}"
                    choices = [row[f"answer{i}"] for i in range(4)]
                    yield _record(idx, (context, choices, labels(row.get("label"), path, line)))
                    idx += 1
            except UnicodeDecodeError as err:
                raise DataFormatError(path, None, f"bytes that are not UTF-8 ({err.reason})") from None

    def _rows(self, path: Path) -> Iterator[tuple[int, dict[str, str]]]:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # -sig: drop a BOM
            reader = csv.reader(handle)
            try:
                header = next(reader, None) or []
                missing = [c for c in self.COLUMNS if c not in header]
                if missing:
                    raise DataFormatError(path, 1, f"header lacks columns {missing} (has {header})")
                start = reader.line_num + 1
                for row in reader:
                    line, start = start, reader.line_num + 1
                    if not any(cell.strip() for cell in row):
                        continue
                    if len(row) != len(header):
                        raise DataFormatError(
                            path, line, f"expected {len(header)} comma-separated fields, found {len(row)}"
                        )
                    yield line, dict(zip(header, row, strict=True))
            except csv.Error as err:
                raise DataFormatError(path, reader.line_num, f"malformed CSV ({err})") from None
