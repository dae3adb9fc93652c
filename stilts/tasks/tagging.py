"""CCG supertagging (intermediate task): one CCG supertag per word of WSJ sentences.

Source: CCGbank (LDC2005T13, licence-restricted): point `${paths.data_dir}/ccg` at the CCGbank root,
which holds `data/AUTO/<section>/wsj_<section><nn>.auto`. jiant's split (scripts/ccg/ccg_proc.py):
WSJ sections 00-18 train, 19-21 dev, 22-24 test.
Format: AUTO files; a sentence is an `ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1` line followed by its tree
line, whose leaves are `(<L supertag POS POS word predarg>)`: word = 4th field, tag = 1st field.
Labels: the yaml says `labels_from_train: true`: the sorted set of supertags of the training
sections, then `<unk>` (1,363 + 1 with jiant's split). A dev/test tag not seen in training maps to
`<unk>`, which the head never predicts, so such words count as wrong.
Paper score: accuracy over words (the first sub-token of each word is labelled; the rest -100).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import datasets
from transformers import PreTrainedTokenizerBase

from stilts.contracts import IGNORE_INDEX, UNK_TAG
from stilts.errors import DataFormatError, MissingDataError
from stilts.tasks.edge_probing import word_char_spans, word_token_bounds
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.readers import LocalReader, Record, decoded_lines
from stilts.tasks.values import LabelMap

log = logging.getLogger(__name__)
LEAF = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")


def parse_sections(spec: str) -> list[str]:
    """`00-18` -> ['00', ..., '18']; `22` -> ['22']."""
    first, _, last = spec.partition("-")
    return [f"{s:02d}" for s in range(int(first), int(last or first) + 1)]


def auto_sentences(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, words, supertags) of every sentence of a CCGbank AUTO file."""
    expect_tree = False
    for line, text in decoded_lines(path):
        if not text.strip():
            continue
        if text.startswith("ID="):
            if expect_tree:
                raise DataFormatError(path, line, "an `ID=` line without its tree line")
            expect_tree = True
            continue
        if not expect_tree:
            raise DataFormatError(path, line, "a tree line must follow an `ID=` line")
        leaves = LEAF.findall(text)
        if not leaves or len(leaves) != text.count("(<L "):
            raise DataFormatError(path, line, "malformed leaves; expected `(<L tag POS POS word predarg>)`")
        yield line, [leaf[3] for leaf in leaves], [leaf[0] for leaf in leaves]
        expect_tree = False


class CcgbankReader(LocalReader):
    """CCGbank AUTO files selected by WSJ section.

    Args:
        sections: split -> section range, e.g. {train: "00-18", val: "19-21", test: "22-24"}.
        root: folder of the section folders, relative to the task folder.
        origin: where users get the data.
    """

    def __init__(self, sections: Mapping[str, str], root: str = "data/AUTO", origin: str = "") -> None:
        super().__init__({split: [] for split in sections}, origin)
        self.sections = dict(sections)
        self.root = root

    def split_paths(self, task_dir: Path, split: str) -> list[Path]:
        if split not in self.sections:
            raise MissingDataError(f"no sections configured for split `{split}` ({sorted(self.sections)})")
        base = task_dir / self.root
        paths = [p for s in parse_sections(self.sections[split]) for p in sorted((base / s).glob("*.auto"))]
        if not paths:
            raise MissingDataError(
                f"split `{split}`: no {base}/<section>/*.auto for sections {self.sections[split]}. "
                f"Get it from: {self.origin}"
            )
        return paths

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        index = {name: i for i, name in enumerate(labels.labels)}
        unknown = index.get(UNK_TAG)
        idx = unseen = 0
        for path in paths:
            for line, words, tags in auto_sentences(path):
                ids = [index.get(tag, unknown) for tag in tags]
                if None in ids:
                    raise DataFormatError(
                        path, line, f"supertag {tags[ids.index(None)]!r} is not a known label"
                    )
                unseen += sum(i == unknown for i in ids)
                yield {"idx": idx, "text": " ".join(words), "tags": ids}
                idx += 1
        if unseen:
            log.info("%s...: %d words carry supertags unseen in training (scored as wrong)", paths[0], unseen)

    def label_set(self, task_dir: Path) -> list[str]:
        """Sorted supertags of the training sections, then `<unk>`."""
        tags: set[str] = set()
        for path in self.split_paths(task_dir, "train"):
            for _, _, sentence_tags in auto_sentences(path):
                tags.update(sentence_tags)
        return [*sorted(tags), UNK_TAG]


class TaggingFeaturizer(Featurizer):
    """Words joined by spaces -> sub-tokens; the first sub-token of each word carries its tag."""

    version = 1
    keep_columns = ("idx",)
    pad_values = {"input_ids": -1, "attention_mask": 0, "tag_labels": IGNORE_INDEX}

    def _encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Iterator:
        encoded = self.tokenize(tokenizer, batch["text"], None, max_length, offsets=True)
        for i, text in enumerate(batch["text"]):
            first, _ = word_token_bounds(
                word_char_spans(text), encoded["offset_mapping"][i], encoded.sequence_ids(i)
            )
            tags = first_subtoken_labels(batch["tags"][i], first, len(encoded["input_ids"][i]))
            yield encoded, i, tags, sum(p < 0 for p in first)

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        out: Batch = {"input_ids": [], "attention_mask": [], "tag_labels": [], "length": []}
        for encoded, i, tags, _ in self._encode(batch, tokenizer, max_length):
            out["input_ids"].append(encoded["input_ids"][i])
            out["attention_mask"].append(encoded["attention_mask"][i])
            out["tag_labels"].append(tags)
            out["length"].append(len(tags))
        return out

    def segments(self, batch: Batch) -> tuple[list[str], None]:
        return batch["text"], None

    def describe(self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict:
        words = cut = 0
        for start in range(0, len(raw), 1000):
            batch = raw[start : start + 1000]
            for _, i, _, lost in self._encode(batch, tokenizer, max_length):
                words += len(batch["tags"][i])
                cut += lost
        return {"words": words, "words cut by truncation (not scored)": cut}


def first_subtoken_labels(tags: Sequence[int], first: Sequence[int], length: int) -> list[int]:
    """Per sub-token labels: each word's tag on its first sub-token, -100 elsewhere."""
    out = [IGNORE_INDEX] * length
    for word, position in enumerate(first):
        if position >= 0:
            out[position] = tags[word]
    return out
