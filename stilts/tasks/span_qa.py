"""Extractive span QA over one sentence (intermediate tasks): QAMR and QA-SRL.

QAMR: crowd-sourced questions about a Wikipedia sentence, answered by words of it. Source: GitHub
uwnlp/qamr `data/filtered/{train,dev}.tsv` and `data/wiki-sentences.tsv` (MIT). Format: TSV without
header, 9 columns: sent_id, target token ids, worker id, qa index, target word idx, question, answer
token idxs (space-separated), validator 1, validator 2; sentences: `sent_id<TAB>space-tokenised
sentence`. As jiant v1 the answer is the words min..max of the answer indices. Sentence ids from the
PTB part (`PTB...`, not in wiki-sentences.tsv; jiant used the Wikipedia part only) are skipped and
counted in the log; any other id missing from wiki-sentences.tsv is an error.
QA-SRL Bank 2.0: questions about each verb of a sentence. Source: qasrl.org `qasrl-v2` ->
`orig/{train,dev}.jsonl.gz`. Format: one sentence per JSON line (sentenceId, sentenceTokens,
verbEntries{idx: {verbIndex, questionLabels{question: {answerJudgments: [{isValid, spans}]}}}}),
spans end-exclusive (as jiant v2 reads them; jiant v1 added 1). One example per (question, valid
answer span), as jiant v1.
Labels: none (span extraction). Paper score: (SQuAD F1 + EM) / 2 against the gold answer string.

The context is the space-joined sentence, and gold and predicted answers are both taken from it (jiant
v1 PTB-detokenised both; after SQuAD normalisation the difference is small). The input is (passage,
question) as in jiant; predictions are whole words of the passage, chosen from the predicted start
and exclusive end sub-tokens by jiant's rule (`metrics_spans.jiant_word_span`). Examples whose answer
is truncated away keep start/end -100: no loss, but they are still scored (as wrong) at evaluation;
`describe()` counts them.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import datasets
from transformers import PreTrainedTokenizerBase

from stilts.contracts import IGNORE_INDEX
from stilts.errors import DataFormatError, MissingDataError
from stilts.tasks.edge_probing import word_char_spans, word_token_bounds
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.readers import LocalReader, Record, decoded_lines
from stilts.tasks.strict_json import strict_json
from stilts.tasks.values import LabelMap

log = logging.getLogger(__name__)
QAMR_COLUMNS = 9


def qa_record(idx: int, question: str, words: list[str], start: int, end: int) -> Record:
    """The canonical record: question, context words joined by spaces, answer words [start, end)."""
    return {
        "idx": idx,
        "question": question,
        "context": " ".join(words),
        "answer_start": start,
        "answer_end": end,
        "answer": " ".join(words[start:end]),
    }


class QamrReader(LocalReader):
    """QAMR's filtered TSV files joined with wiki-sentences.tsv.

    Args:
        files: split -> TSV file under the task folder (e.g. `filtered/train.tsv`).
        sentences: the sentence file, read with every split.
    """

    def __init__(
        self, files: Mapping[str, Any], sentences: str = "wiki-sentences.tsv", origin: str = ""
    ) -> None:
        super().__init__(files, origin)
        self.sentences = sentences

    def split_paths(self, task_dir: Path, split: str) -> list[Path]:
        paths = super().split_paths(task_dir, split)
        sentences = task_dir / self.sentences
        if not sentences.is_file():
            raise MissingDataError(f"no sentence file at {sentences}. Get it from: {self.origin}")
        return [*paths, sentences]  # last: the sentences (its bytes enter the data fingerprint too)

    @staticmethod
    def load_sentences(path: Path) -> dict[str, list[str]]:
        sentences = {}
        for line, text in decoded_lines(path):
            if not text.strip():
                continue
            sent_id, tab, sentence = text.partition("\t")
            if not tab or not sentence.strip():
                raise DataFormatError(path, line, "expected `sent_id<TAB>sentence`")
            sentences[sent_id] = sentence.split()
        return sentences

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        *files, sentence_file = paths
        sentences = self.load_sentences(sentence_file)
        idx = skipped = 0
        for path in files:
            for line, text in decoded_lines(path):
                if not text.strip():
                    continue
                cells = text.split("\t")
                if len(cells) != QAMR_COLUMNS:
                    raise DataFormatError(
                        path, line, f"expected {QAMR_COLUMNS} tab-separated columns, found {len(cells)}"
                    )
                sent_id, question, answer = cells[0], cells[5], cells[6]
                if sent_id not in sentences:
                    if sent_id.startswith("PTB"):
                        skipped += 1
                        continue
                    raise DataFormatError(
                        path, line, f"sentence id {sent_id!r} is not in {sentence_file.name}"
                    )
                words = sentences[sent_id]
                try:
                    indices = [int(x) for x in answer.split()]
                except ValueError:
                    indices = []
                if not indices or min(indices) < 0 or max(indices) >= len(words):
                    raise DataFormatError(
                        path,
                        line,
                        f"answer indices {answer!r} are not word indices of the {len(words)} words",
                    )
                yield qa_record(idx, question, words, min(indices), max(indices) + 1)
                idx += 1
        if skipped:
            log.info(
                "%s: skipped %d questions about PTB sentences (not in %s)",
                files[0],
                skipped,
                sentence_file.name,
            )


def gzip_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a gzipped text file, naming undecodable lines."""
    try:
        with gzip.open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as err:
                    raise DataFormatError(path, number, f"bytes that are not UTF-8 ({err.reason})") from None
    except (OSError, EOFError) as err:
        raise DataFormatError(path, None, f"not a readable gzip file ({err})") from None


class QasrlReader(LocalReader):
    """QA-SRL Bank 2.0 `orig/*.jsonl.gz`: one example per (question, valid answer span)."""

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, text in gzip_lines(path):
                if not text.strip():
                    continue
                try:
                    obj = strict_json(text)
                    words = obj["sentenceTokens"]
                    entries = obj["verbEntries"].values()
                except (ValueError, KeyError, AttributeError, TypeError) as err:
                    raise DataFormatError(path, line, f"not a QA-SRL sentence record ({err!r})") from None
                for entry in entries:
                    for question, label in entry.get("questionLabels", {}).items():
                        for judgment in label.get("answerJudgments", []):
                            if not judgment.get("isValid"):
                                continue
                            for span in judgment.get("spans", []):
                                if not (
                                    isinstance(span, list)
                                    and len(span) == 2
                                    and 0 <= span[0] < span[1] <= len(words)
                                ):
                                    raise DataFormatError(
                                        path, line, f"answer span {span!r} is not in the {len(words)} words"
                                    )
                                yield qa_record(idx, question, words, span[0], span[1])
                                idx += 1


class SpanQAFeaturizer(Featurizer):
    """(passage, question) pairs in jiant v1's order (jiant/tasks/qa.py:642-645: passage first), each
    segment truncated on its own (`model.truncation: segment`) or the passage only (`pair`); the
    answer's words projected to sub-tokens: start = the first sub-token of the first answer word, end =
    one past the last sub-token of the last answer word (exclusive, as jiant's `answer_token_span`,
    qa.py:833-836; for an answer ending the passage it is the separator after it). `offsets` keeps each
    passage sub-token's characters for the metric."""

    version = 2
    keep_columns = ("idx", "context", "answer")
    metric_columns = ("offsets",)  # SpanQAScore reads each row's offsets from the dataset
    pad_values = {"input_ids": -1, "attention_mask": 0, "token_type_ids": 0}

    def _encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Iterator:
        encoded = self.tokenize(
            tokenizer, *self.segments(batch), max_length, offsets=True, pair_strategy="only_first"
        )
        for i, context in enumerate(batch["context"]):
            parts = [0 if p == 0 else None for p in encoded.sequence_ids(i)]
            offsets = encoded["offset_mapping"][i]
            first, last = word_token_bounds(word_char_spans(context), offsets, parts)
            start, end = first[batch["answer_start"][i]], last[batch["answer_end"][i] - 1]
            truncated = start < 0 or end < 0
            yield encoded, i, parts, (IGNORE_INDEX, IGNORE_INDEX) if truncated else (start, end)

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        out: Batch = {"start_positions": [], "end_positions": [], "offsets": [], "length": []}
        for encoded, i, parts, (start, end) in self._encode(batch, tokenizer, max_length):
            for key in encoded:
                if key != "offset_mapping":
                    out.setdefault(key, []).append(encoded[key][i])
            out["start_positions"].append(start)
            out["end_positions"].append(end)
            out["offsets"].append(
                [
                    list(o) if p is not None else [-1, -1]
                    for o, p in zip(encoded["offset_mapping"][i], parts, strict=True)
                ]
            )
            out["length"].append(len(parts))
        return out

    def segments(self, batch: Batch) -> tuple[list[str], list[str]]:
        return batch["context"], batch["question"]

    def describe(self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict:
        truncated = 0
        for start in range(0, len(raw), 1000):
            for *_, positions in self._encode(raw[start : start + 1000], tokenizer, max_length):
                truncated += positions[0] == IGNORE_INDEX
        return {"answers cut by truncation (no loss; scored as wrong)": truncated}
