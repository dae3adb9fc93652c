"""WSC and WiC (SuperGLUE): binary classification of marked spans, projected to sub-tokens.

- WSC (Winograd Schema Challenge): jsonl `text, target{span1_index, span1_text, span2_index,
  span2_text}, label: bool`; does the pronoun (span 2) refer to the noun phrase (span 1)? Spans are
  word indices over the whitespace split of `text`, as long as their `span_text` in words. Check:
  the words at the index must read `span_text` (case and surrounding punctuation aside), or the words
  one position before or after must (the official dev set has one such off-by-one record; the index
  is kept, as jiant keeps it, and `stilts-data` counts these); anything else is an error.
- WiC (Word-in-Context): jsonl `word, sentence1, sentence2, start1, end1, start2, end2, label: bool`
  (character offsets, end exclusive); is `word` used in the same sense in both sentences? Offsets
  outside the sentence are malformed (an error). Whether a span marks a form of `word` is a judgement
  (stilts.tasks.wic_checks), so it warns and counts (`stilts-data`: "flagged") instead of refusing;
  the official training set marks five words inside contractions ("does" of "doesn't" for `do`), kept
  as marked (jiant read every row too).
Labels `false`/`true`; paper score: accuracy. Hub: aps/super_glue `wsc.fixed` and `wic` (flat columns).

Canonical record: `idx`, `label`, `text_a`, `text_b` (empty for WSC) and per span k
`span{k}_segment` (0: text_a, 1: text_b), `span{k}_char_start`, `span{k}_char_end`. The featurizer
projects character spans onto sub-tokens with the fast tokenizer's `offset_mapping`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import datasets
from transformers import PreTrainedTokenizerBase

from stilts.errors import DataFormatError
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.hub import HubReader
from stilts.tasks.readers import LocalReader, Record, json_objects
from stilts.tasks.span_marking import jiant_token_span, project_span
from stilts.tasks.values import LabelMap, field
from stilts.tasks.wic_checks import WIC_FLAG, wic_flags

log = logging.getLogger(__name__)
WORD = re.compile(r"\S+")


def _bare(text: str) -> str:
    """Lowercased, without the punctuation that whitespace-split words carry (`him,"` -> `him`)."""
    return " ".join(text.split()).strip(".,;:!?\"'()[]`").lower()


def wsc_char_span(text: str, index: int, span_text: str, name: str) -> tuple[int, int]:
    """Character span of the words `index .. index + len(span_text.split())` of `text`.

    When those words start with `span_text` (case aside), the span ends with it, so trailing
    punctuation glued to the last word (`him,"`) stays out.
    """
    words = list(WORD.finditer(text))
    count = max(1, len(span_text.split()))
    if index < 0 or index + count > len(words):
        raise ValueError(
            f"{name}_index {index} (+{count} words of {span_text!r}) is outside "
            f"the {len(words)} words of `text`"
        )
    start, end = words[index].start(), words[index + count - 1].end()
    if text[start : start + len(span_text)].lower() == span_text.lower():
        end = start + len(span_text)
    if not _reads(words, index, span_text) and not any(
        _reads(words, near, span_text) for near in (index - 1, index + 1)
    ):
        raise ValueError(
            f"{name}_text {span_text!r} is not the text at {name}_index {index} "
            f"({' '.join(w.group() for w in words[index : index + count])!r}) nor next to it; fix "
            f"{name}_index (a word index over the whitespace split of `text`) or {name}_text"
        )
    return start, end


def _reads(words: Sequence[re.Match[str]], index: int, span_text: str) -> bool:
    """Whether the words from `index` on read `span_text`, case and outer punctuation aside."""
    count = max(1, len(span_text.split()))
    if index < 0 or index + count > len(words):
        return False
    return _bare(" ".join(w.group() for w in words[index : index + count])) == _bare(span_text)


def wsc_record(row: Mapping[str, Any]) -> Record:
    """Canonical WSC columns from flat `text, span{1,2}_index, span{1,2}_text`."""
    text = row["text"]
    out: Record = {"text_a": text, "text_b": ""}
    for k in (1, 2):
        span_text = row[f"span{k}_text"]
        start, end = wsc_char_span(text, row[f"span{k}_index"], span_text, f"span{k}")
        out |= {f"span{k}_segment": 0, f"span{k}_char_start": start, f"span{k}_char_end": end}
        out[f"span{k}_text"] = span_text
    return out


def wic_record(row: Mapping[str, Any]) -> Record:
    """Canonical WiC columns from `sentence1, sentence2, start1, end1, start2, end2`.

    Raises ValueError for offsets outside the sentence (malformed); spans that may not mark the word
    are kept (`wic_flags` names them).
    """
    out: Record = {"text_a": row["sentence1"], "text_b": row["sentence2"]}
    for k, sentence in ((1, row["sentence1"]), (2, row["sentence2"])):
        start, end = row[f"start{k}"], row[f"end{k}"]
        if not 0 <= start < end <= len(sentence):
            raise ValueError(
                f"start{k}/end{k} = {start}/{end} is not a span of the {len(sentence)} characters"
            )
        out |= {f"span{k}_segment": k - 1, f"span{k}_char_start": start, f"span{k}_char_end": end}
    return out


class SpanJsonlReader(LocalReader):
    """SuperGLUE jsonl of a task with marked spans; subclasses say how a line becomes a record.

    Args:
        files: split -> file name(s).
        label_values: raw label values in the order of the task's labels (`[false, true]`).
        origin: where a user gets the files.
    """

    def flat(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The line's fields as the flat columns `convert` reads (type-checked)."""
        raise NotImplementedError

    def convert(self, row: Mapping[str, Any]) -> Record:
        raise NotImplementedError

    def on_line(self, path: Path, line: int, row: Mapping[str, Any]) -> None:
        """Hook for judgement checks that warn about a row instead of refusing it (none here)."""

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, obj in json_objects(path):
                try:
                    row = self.flat(obj)
                    record = self.convert(row)
                except ValueError as err:
                    raise DataFormatError(path, line, str(err)) from None
                self.on_line(path, line, row)
                yield {"idx": idx, "label": labels(obj.get("label"), path, line), **record}
                idx += 1


class WscJsonlReader(SpanJsonlReader):
    """SuperGLUE WSC jsonl: `text` and `target: {span1_index, span1_text, span2_index, span2_text}`."""

    def flat(self, obj: dict[str, Any]) -> dict[str, Any]:
        target = field(obj, "target", dict)
        row = {"text": field(obj, "text")}
        for k in (1, 2):
            row[f"span{k}_index"] = field(target, f"span{k}_index", int)
            row[f"span{k}_text"] = field(target, f"span{k}_text")
        return row

    convert = staticmethod(wsc_record)


class WicJsonlReader(SpanJsonlReader):
    """SuperGLUE WiC jsonl: `word`, `sentence1/2` and character offsets `start1/end1/start2/end2`.

    Rows whose spans may not mark the word are kept, each logged with its file and line, and counted
    by `flagged` (shown by `stilts-data`).
    """

    def flat(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            **{key: field(obj, key) for key in ("word", "sentence1", "sentence2")},
            **{key: field(obj, key, int) for key in ("start1", "end1", "start2", "end2")},
        }

    convert = staticmethod(wic_record)

    def on_line(self, path: Path, line: int, row: Mapping[str, Any]) -> None:
        for flag in wic_flags(row):
            log.warning("%s:%d: %s; kept as marked", path, line, flag)

    def flagged(self, task_dir: Path, split: str) -> dict[str, int]:
        count = 0
        for path in self.split_paths(task_dir, split):
            for line, obj in json_objects(path):
                try:
                    count += len(wic_flags(self.flat(obj)))
                except ValueError as err:
                    raise DataFormatError(path, line, str(err)) from None
        return {WIC_FLAG: count} if count else {}


class SpanHubReader(HubReader):
    """aps/super_glue `wsc.fixed` / `wic`: flat columns, canonicalised like the jsonl records by the
    subclass's `convert`. `fields` maps the raw columns to themselves."""

    def convert(self, row: Mapping[str, Any]) -> Record:
        raise NotImplementedError

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        raw = super().read(split, labels, cache_dir)
        where = f"hub:{self.path}/{self.name or ''}"

        def canonical(row: dict[str, Any]) -> Record:
            try:
                return {"idx": row["idx"], "label": row["label"], **self.convert(row)}
            except ValueError as err:
                raise DataFormatError(where, row["idx"], str(err)) from None

        return raw.map(canonical, remove_columns=raw.column_names, desc=f"{where} {split} spans")


class WscHubReader(SpanHubReader):
    convert = staticmethod(wsc_record)


class WicHubReader(SpanHubReader):
    def convert(self, row: Mapping[str, Any]) -> Record:
        for flag in wic_flags(row):  # judgement checks warn, as for local files
            log.warning("hub:%s/%s:%s: %s; kept as marked", self.path, self.name or "", row.get("idx"), flag)
        return wic_record(row)


class SpanPairFeaturizer(Featurizer):
    """One sequence (WSC) or a pair (WiC) with `num_spans` character spans -> token spans.

    A span that truncation removed points at the first token (`<s>`), so the example still counts
    in evaluation; `describe()` reports how many spans were lost.

    Args:
        pair: whether `text_b` is a second segment.
        num_spans: spans per example.
        marking: `offsets` (sub-tokens overlapping each span's characters) or `jiant` (WiC's paper rule,
            `stilts.tasks.span_marking`; docs/fidelity.md measures the difference).
    """

    version: ClassVar[int] = 1
    MARKINGS: ClassVar[tuple[str, ...]] = ("offsets", "jiant")

    def __init__(self, pair: bool = True, num_spans: int = 2, marking: str = "offsets") -> None:
        if marking not in self.MARKINGS:
            raise ValueError(f"featurizer.marking must be one of {', '.join(self.MARKINGS)}, got {marking!r}")
        self.pair = pair
        self.num_spans = num_spans
        self.marking = marking

    def _encode(
        self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> tuple[Batch, list[int]]:
        encoded = self.tokenize(tokenizer, *self.segments(batch), max_length, offsets=True)
        offsets = encoded.pop("offset_mapping")
        out: Batch = dict(encoded)
        out["length"] = [len(ids) for ids in encoded["input_ids"]]
        lost = [0] * len(offsets)
        for k in range(1, self.num_spans + 1):
            starts, ends = [], []
            for i, example_offsets in enumerate(offsets):
                segment, start, end = (
                    batch[f"span{k}_{key}"][i] for key in ("segment", "char_start", "char_end")
                )
                if self.marking == "jiant":
                    text = (batch["text_a"] if segment == 0 else batch["text_b"])[i]
                    span = jiant_token_span(
                        tokenizer, encoded.sequence_ids(i), text, segment, start, end, max_length
                    )
                else:
                    span = project_span(example_offsets, encoded.sequence_ids(i), segment, start, end)
                if span is None:
                    lost[i] += 1
                    span = (0, 1)
                starts.append(span[0])
                ends.append(span[1])
            out[f"span{k}_start"], out[f"span{k}_end"] = starts, ends
        return out, lost

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        return self._encode(batch, tokenizer, max_length)[0]

    def segments(self, batch: Batch) -> tuple[list[str], list[str] | None]:
        return batch["text_a"], batch["text_b"] if self.pair else None

    def describe(
        self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> dict[str, Any]:
        lost = differ = 0
        for start in range(0, len(raw), 1000):
            batch = raw[start : start + 1000]
            lost += sum(self._encode(batch, tokenizer, max_length)[1])
            if "span1_text" not in batch:
                continue
            texts = [batch["text_a"], batch["text_b"]]
            for k in range(1, self.num_spans + 1):
                for i, claimed in enumerate(batch[f"span{k}_text"]):
                    text = texts[batch[f"span{k}_segment"][i]][i]
                    marked = text[batch[f"span{k}_char_start"][i] : batch[f"span{k}_char_end"][i]]
                    differ += marked.lower() != claimed.lower()
        facts: dict[str, Any] = {"spans": len(raw) * self.num_spans, "spans lost to truncation": lost}
        if "span1_text" in raw.column_names:
            # SuperGLUE WSC has a few records whose span_text is not the word at span_index.
            facts["spans whose words differ from span_text"] = differ
        return facts
