"""Readers that convert official releases into edge-probing records: ep_rel and ep_ud.

ep_rel (SemEval-2010 task 8, relation classification between two marked nominals; 19 labels: 9
directed relations x 2 directions + Other). Source: the official release (TRAIN_FILE.TXT,
TEST_FILE_FULL.TXT) or the Hub parquet `SemEvalWorkshop/sem_eval_2010_task_8`. Format: records of
`id<TAB>"sentence with <e1>..</e1> <e2>..</e2>"`, a relation line such as `Component-Whole(e2,e1)`,
a `Comment:` line and a blank line (CRLF). As jiant's convert-semeval2010-task8.py, words are the
whitespace-split sentence with the tags removed; span1 = e1, span2 = e2. jiant made its dev set with
`deterministic_split.py -s 42 -f 0.85` on the training file; stilts reproduces the idea: record k of
the training file goes to train when the k-th draw of `random.Random(42).random()` is < 0.85, else to
dev (about 6,800 / 1,200; the exact jiant partition is not reproduced). The test file is the test split.

ep_ud (dependency arc labelling on UD English-EWT r2.2). Source: `en_ewt-ud-{train,dev,test}.conllu`.
Format: CoNLL-U, 10 tab-separated columns. As jiant's ud_to_json.py: one target per word, span1 =
the dependent word, span2 = its head word, label = DEPREL; the root arc is kept as a self-loop
(span2 = span1, label `root`); comment lines and multiword-token ranges (`1-2`) are skipped; a
sentence holding an empty node (`8.1`) is skipped whole (jiant dropped such sentences), and counted
in the log.

Paper score for both: edge-probing micro-F1 (see stilts.tasks.edge_probing).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets

from stilts.errors import DataFormatError
from stilts.tasks.edge_probing import ep_record
from stilts.tasks.hub import HubReader
from stilts.tasks.readers import LocalReader, Record, decoded_lines
from stilts.tasks.values import LabelMap

log = logging.getLogger(__name__)
TAG = re.compile(r"</?e(\d)>")
SENTENCE_LINE = re.compile(r'^(\d+)\t"(.*)"\s*$')
RELATION = re.compile(r"^(Other|[A-Za-z]+-[A-Za-z]+\(e[12],e[12]\))$")
TRAIN_FRACTION, SPLIT_SEED = 0.85, 42


def in_train_part(count: int, fraction: float = TRAIN_FRACTION, seed: int = SPLIT_SEED) -> list[bool]:
    """Deterministic train/dev assignment of the first `count` records of the training file."""
    rng = random.Random(seed)
    return [rng.random() < fraction for _ in range(count)]


def semeval_target(marked: str, relation: str, where: Path | str, line: int | None) -> tuple[str, dict]:
    """Words and the (e1, e2) target of one marked-up sentence, as jiant's converter."""
    tokens = marked.split()
    spans: dict[int, list[int]] = {1: [-1, -1], 2: [-1, -1]}
    for i, token in enumerate(tokens):
        for match in re.finditer(r"<e(\d)>", token):
            spans.setdefault(int(match.group(1)), [-1, -1])[0] = i
        for match in re.finditer(r"</e(\d)>", token):
            spans.setdefault(int(match.group(1)), [-1, -1])[1] = i + 1
    if set(spans) != {1, 2} or any(-1 in span for span in spans.values()):
        raise DataFormatError(where, line, "the sentence needs one <e1>..</e1> and one <e2>..</e2>")
    text = " ".join(TAG.sub("", t) for t in tokens)
    return text, {"span1": spans[1], "span2": spans[2], "label": relation}


class SemEvalReader(LocalReader):
    """The official SemEval-2010 task 8 TXT files; `train`/`val` are carved from the training file.

    Args:
        files: split -> file (`train` and `val` both name TRAIN_FILE.TXT).
        holdout: stilts split -> part of the 0.85 split it takes (`train` or `dev`); splits not
            listed (test) read their whole file.
    """

    def __init__(
        self, files: Mapping[str, Any], holdout: Mapping[str, str] | None = None, origin: str = ""
    ) -> None:
        super().__init__(files, origin)
        self.holdout = dict(holdout or {"train": "train", "val": "dev"})
        self.part: str | None = None

    def read(self, task_dir: Path, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        # The part is an attribute so that it enters the Arrow cache key: train and val read one file.
        self.part = self.holdout.get(split)
        return super().read(task_dir, split, labels, cache_dir)

    def triples(self, path: Path) -> Iterator[tuple[int, str, str]]:
        """(line, marked sentence, relation) of every record of one file."""
        block: list[tuple[int, str]] = []
        for line, text in [*decoded_lines(path), (-1, "")]:
            if text.strip():
                block.append((line, text))
                continue
            if not block:
                continue
            first = block[0][0]
            match = SENTENCE_LINE.match(block[0][1])
            if match is None:
                raise DataFormatError(path, first, 'expected `id<TAB>"sentence"`')
            if len(block) != 3 or not RELATION.match(block[1][1].strip()):
                raise DataFormatError(
                    path, first, "a record is a sentence line, a relation line and a `Comment:` line"
                )
            if not block[2][1].startswith("Comment:"):
                raise DataFormatError(path, block[2][0], "expected the `Comment:` line")
            yield first, match.group(2), block[1][1].strip()
            block = []

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            triples = list(self.triples(path))
            keep = in_train_part(len(triples))
            for (line, marked, relation), train in zip(triples, keep, strict=True):
                if self.part is not None and train != (self.part == "train"):
                    continue
                text, target = semeval_target(marked, relation, path, line)
                yield ep_record(idx, text, [target], True, labels, path, line)
                idx += 1


class SemEvalHubReader(HubReader):
    """`SemEvalWorkshop/sem_eval_2010_task_8` (train/test parquet): the markup parsed as the TXT
    reader does, and the same 0.85 train/dev split of the Hub's train split."""

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        part = {"train": "train", "val": "dev"}.get(split)
        hub_split = "test" if part is None else "train"
        raw = datasets.load_dataset(
            self.path, self.name, split=hub_split, revision=self.revision, cache_dir=str(cache_dir / "hub")
        )
        names = raw.features["relation"].names
        label_map = LabelMap(labels, None)
        where = f"hub:{self.path}"
        if part is not None:
            keep = in_train_part(len(raw))
            raw = raw.select([i for i, train in enumerate(keep) if train == (part == "train")])

        def canonical(row: dict[str, Any], idx: int) -> Record:
            text, target = semeval_target(row["sentence"], names[row["relation"]], where, idx)
            return ep_record(idx, text, [target], True, label_map, where, idx)

        return raw.map(canonical, with_indices=True, remove_columns=raw.column_names, desc=f"{where} {split}")


def conllu_sentences(path: Path) -> Iterator[tuple[int, list[list[str]], bool]]:
    """(first line, word rows, has an empty node) of each sentence of a CoNLL-U file."""
    rows: list[list[str]] = []
    start, empty_node = 0, False
    for line, text in [*decoded_lines(path), (-1, "")]:
        if text.startswith("#"):
            continue
        if not text.strip():
            if rows or empty_node:
                yield start, rows, empty_node
            rows, empty_node = [], False
            continue
        cells = text.split("\t")
        if len(cells) != 10:
            raise DataFormatError(
                path, line, f"expected 10 tab-separated CoNLL-U columns, found {len(cells)}"
            )
        if not rows and not empty_node:
            start = line
        if "-" in cells[0]:
            continue  # multiword token range: its words follow on their own lines
        if "." in cells[0]:
            empty_node = True
            continue
        if not cells[0].isdigit() or not cells[6].isdigit() or int(cells[0]) != len(rows) + 1:
            raise DataFormatError(path, line, f"bad word id {cells[0]!r} or head {cells[6]!r}")
        rows.append(cells)


class ConlluReader(LocalReader):
    """UD CoNLL-U files -> one edge-probing record per sentence (see the module docstring)."""

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = skipped = 0
        for path in paths:
            for line, rows, empty_node in conllu_sentences(path):
                if empty_node:
                    skipped += 1
                    continue
                targets = []
                for row in rows:
                    word, head = int(row[0]), int(row[6])
                    if head > len(rows):
                        raise DataFormatError(path, line, f"word {word} has head {head} outside the sentence")
                    head = head or word  # the root arc is a self-loop, as in jiant
                    targets.append({"span1": [word - 1, word], "span2": [head - 1, head], "label": row[7]})
                text = " ".join(row[1].replace(" ", "_") for row in rows)
                yield ep_record(idx, text, targets, True, labels, path, line)
                idx += 1
        if skipped:
            log.info("%s: skipped %d sentences with empty nodes (as jiant)", paths[0].name, skipped)
