"""MultiRC and ReCoRD (SuperGLUE reading comprehension): readers and featurizers.

- MultiRC: nested jsonl `{idx, passage{text, questions[{question, idx, answers[{text, idx, label 0|1}]}]}}`.
  One record per answer option: (paragraph, question + " " + answer), label `false`/`true`, and the
  question's `group` (a running number per (paragraph, question)) for the EM metric. A question
  with no answer options is skipped and counted (`stilts-data` shows the count). Paper score:
  (F1a + EM) / 2. Hub: aps/super_glue `multirc` (one row per answer option already).
- ReCoRD: jsonl `{passage{text, entities[{start, end}]}, qas[{query, answers[{start, end, text}], idx}]}`
  (character offsets, `end` inclusive). One record per query, with its de-duplicated candidate
  entities, gold answer texts and `mentions` (the candidate number of each entity mention in file
  order: jiant's validation instances, counted by the mid-training dev limit); the featurizer expands
  it into one sequence per candidate: (passage, query with `@placeholder` replaced by the candidate),
  labelled true when the candidate is a gold answer. That is jiant v1's instance layout (1.8M
  training instances): a batch of 4 holds 4 sequences like every other task (one query per example
  would hold 4 x ~15-100); the metric takes the argmax per query. Gold answers are entity mentions,
  so a labelled query none of whose answers is a candidate is an error naming file and line (it could
  only ever score 0 and teach nothing), not a skip. Paper score: (F1 + EM) / 2. Hub: aps/super_glue
  `record` (one row per query, entities as strings).
"""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import datasets
from transformers import PreTrainedTokenizerBase

from stilts.errors import DataFormatError
from stilts.tasks.featurizers import Batch, ClassificationFeaturizer, Featurizer
from stilts.tasks.hub import HubReader
from stilts.tasks.readers import LocalReader, Record, json_objects
from stilts.tasks.values import UNLABELED, LabelMap, field

log = logging.getLogger(__name__)
PLACEHOLDER = "@placeholder"
SENTENCE_MARK = re.compile(r"<b>Sent \d+: </b>")  # markup of the original SuperGLUE MultiRC passages


def clean_multirc(text: str) -> str:
    return " ".join(SENTENCE_MARK.sub("", text).replace("<br>", " ").split())


def clean_record(text: str) -> str:
    """jiant v1: the `@highlight` lines (article bullet points) become "- " items."""
    return text.replace("@highlight\n", "- ")


def _spread(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": min(values), "mean": round(statistics.fmean(values), 2), "max": max(values)}


class MultiRCReader(LocalReader):
    """MultiRC nested jsonl -> one record per answer option.

    A question with an empty `answers` list has nothing to classify or score: it is skipped, and
    counted (`skipped()`, shown by `stilts-data`; a warning when the split is read).
    """

    SKIP = "questions without answers"

    def _questions(self, paths: list[Path]) -> Iterator[tuple[Path, int, dict[str, Any], str, dict]]:
        """(path, line, paragraph object, cleaned text, question) of every question, checked."""
        for path in paths:
            for line, obj in json_objects(path):
                try:
                    passage = field(obj, "passage", dict)
                    text = clean_multirc(field(passage, "text"))
                    for question in field(passage, "questions", list):
                        field(question, "question")
                        field(question, "answers", list)
                        yield path, line, obj, text, question
                except ValueError as err:
                    raise DataFormatError(path, line, str(err)) from None

    def skipped(self, task_dir: Path, split: str) -> dict[str, int]:
        paths = self.split_paths(task_dir, split)
        return {self.SKIP: sum(not q["answers"] for *_, q in self._questions(paths))}

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = group = skipped = 0
        for path, line, obj, text, question in self._questions(paths):
            if not question["answers"]:
                skipped += 1
                continue
            asked = question["question"]
            try:
                for answer in question["answers"]:
                    label = labels(answer.get("label") if isinstance(answer, dict) else None, path, line)
                    yield {
                        "idx": idx,
                        "label": label,
                        "text_a": text,
                        "text_b": f"{asked} {field(answer, 'text')}",
                        "group": group,
                        "paragraph_idx": obj.get("idx", -1),
                        "question_idx": question.get("idx", -1),
                    }
                    idx += 1
            except ValueError as err:
                raise DataFormatError(path, line, str(err)) from None
            group += 1
        if skipped:
            log.warning("%s: skipped %d %s", ", ".join(map(str, paths)), skipped, self.SKIP)


class MultiRCHubReader(HubReader):
    """aps/super_glue `multirc`: `fields` must bring `paragraph`, `question`, `answer` and `hub_idx`
    (the Hub's `idx{paragraph, question, answer}`)."""

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        raw = super().read(split, labels, cache_dir)
        groups: dict[tuple[int, int], int] = {}
        numbers = [groups.setdefault((i["paragraph"], i["question"]), len(groups)) for i in raw["hub_idx"]]
        raw = raw.add_column("group", numbers)

        def canonical(row: dict[str, Any]) -> Record:
            return {
                "idx": row["idx"],
                "label": row["label"],
                "text_a": clean_multirc(row["paragraph"]),
                "text_b": f"{row['question']} {row['answer']}",
                "group": row["group"],
                "paragraph_idx": row["hub_idx"]["paragraph"],
                "question_idx": row["hub_idx"]["question"],
            }

        return raw.map(canonical, remove_columns=raw.column_names, desc=f"hub:{self.path} {split} multirc")


class MultiRCFeaturizer(ClassificationFeaturizer):
    """(paragraph, question + answer) pairs, keeping the question `group` for EM."""

    keep_columns: ClassVar[tuple[str, ...]] = ("idx", "label", "group")

    def describe(
        self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> dict[str, Any]:
        per_question: dict[int, list[int]] = {}
        for group, label in zip(raw["group"], raw["label"], strict=True):
            per_question.setdefault(group, []).append(label)
        return {
            "questions": len(per_question),
            "paragraphs": len(set(raw["paragraph_idx"])),
            "answers per question": _spread([len(v) for v in per_question.values()]),
            "questions without a true answer": sum(1 not in v for v in per_question.values()),
        }


def record_query(passage: str, entities: Sequence[str], query: str, answers: Sequence[str]) -> Record:
    """One canonical ReCoRD query: its cleaned passage, unique candidates (passage order), answers."""
    if PLACEHOLDER not in query:
        raise ValueError(f"the query has no {PLACEHOLDER}: {query[:80]!r}")
    candidates, golds = list(dict.fromkeys(entities)), list(dict.fromkeys(answers))
    if golds and not set(golds) & set(candidates):
        # ReCoRD answers are entity mentions of the passage; a query none of whose answers is a
        # candidate can never be scored right, so the record is broken, not hard.
        raise ValueError(
            f"the answers {golds} of query {query[:60]!r} are none of the passage's "
            f"{len(candidates)} candidate entities ({candidates[:6]}); fix the answer texts or the "
            "`passage.entities` offsets, or remove the query"
        )
    return {"passage": clean_record(passage), "query": query, "candidates": candidates, "answers": golds}


class RecordReader(LocalReader):
    """SuperGLUE ReCoRD jsonl -> one record per query (entity strings cut out by their offsets)."""

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for line, obj in json_objects(path):
                try:
                    passage = field(obj, "passage", dict)
                    text = field(passage, "text")
                    # jiant makes one instance per entity mention, in this file order (qa.py:355-358).
                    in_file = [
                        (field(e, "start", int), field(e, "end", int))
                        for e in field(passage, "entities", list)
                    ]
                    spans = sorted(in_file)
                    for start, end in spans:
                        if not 0 <= start <= end < len(text):
                            raise ValueError(
                                f"entity {start}..{end} is outside the {len(text)}-character passage"
                            )
                    entities = [text[start : end + 1] for start, end in spans]  # `end` is inclusive
                    # Each mention's candidate number (record_query's candidates: entities de-duplicated
                    # in order), the same for every query of the passage.
                    number = {name: n for n, name in enumerate(dict.fromkeys(entities))}
                    mentions = [number[text[start : end + 1]] for start, end in in_file]
                    for qa in field(obj, "qas", list):
                        answers = [field(a, "text") for a in qa.get("answers", [])]  # test: no answers
                        query = record_query(text, entities, field(qa, "query"), answers)
                        yield {"idx": idx, "query_id": str(qa.get("idx", "")), **query, "mentions": mentions}
                        idx += 1
                except ValueError as err:
                    raise DataFormatError(path, line, str(err)) from None


class RecordHubReader(HubReader):
    """aps/super_glue `record` (one row per query; entities and answers as strings): `fields` must bring
    `passage`, `query`, `entities`, `answers` and `hub_idx`."""

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        raw = super().read(split, labels, cache_dir)
        where = f"hub:{self.path}/{self.name or ''}"

        def canonical(row: dict[str, Any]) -> Record:
            try:
                query = record_query(row["passage"], row["entities"], row["query"], row["answers"])
            except ValueError as err:
                raise DataFormatError(where, row["idx"], str(err)) from None
            # The Hub lists each entity once: one instance per candidate stands in for jiant's mentions.
            mentions = list(range(len(query["candidates"])))
            query_id = str(row["hub_idx"]["query"])
            return {"idx": row["idx"], "query_id": query_id, **query, "mentions": mentions}

        return raw.map(canonical, remove_columns=raw.column_names, desc=f"{where} {split} record")


class RecordFeaturizer(Featurizer):
    """Expands each query into one (passage, filled-in query) sequence per candidate entity.

    Rows keep the query's `idx`, the candidate's number (`candidate`) and text (`candidate_text`) and
    the query's gold `answers`, which the metric looks up by `idx`.
    """

    version: ClassVar[int] = 1
    keep_columns: ClassVar[tuple[str, ...]] = ()  # every output column is written by `encode`
    # Read by RecordScore from the dataset, never batched (a list of answers can also be empty, which
    # would not stack).
    metric_columns: ClassVar[tuple[str, ...]] = ("candidate_text", "answers")

    def segments(self, batch: Batch) -> tuple[list[str], list[str]]:
        """(passage, query with the candidate filled in) of every candidate of every query."""
        firsts, seconds = [], []
        for passage, query, candidates in zip(
            batch["passage"], batch["query"], batch["candidates"], strict=True
        ):
            firsts += [passage] * len(candidates)
            seconds += [query.replace(PLACEHOLDER, name) for name in candidates]
        return firsts, seconds

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        out: Batch = dict(self.tokenize(tokenizer, *self.segments(batch), max_length))
        out["length"] = [len(ids) for ids in out["input_ids"]]
        for column in ("idx", "candidate", "label", *self.metric_columns):
            out[column] = []
        for idx, candidates, answers in zip(batch["idx"], batch["candidates"], batch["answers"], strict=True):
            for number, name in enumerate(candidates):
                out["idx"].append(idx)
                out["candidate"].append(number)
                out["candidate_text"].append(name)
                out["answers"].append(answers)
                out["label"].append(int(name in answers) if answers else UNLABELED)
        return out

    def describe(
        self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> dict[str, Any]:
        counts = [len(c) for c in raw["candidates"]]
        labelled = [(c, a) for c, a in zip(raw["candidates"], raw["answers"], strict=True) if a]
        return {
            "queries": len(raw),
            "candidates per query": _spread(counts),
            "candidate sequences": sum(counts),
            "queries without candidates (not scored)": counts.count(0),
            "queries whose gold answers are no candidate": sum(not set(c) & set(a) for c, a in labelled),
        }

    def validation_instances(self, raw: datasets.Dataset, features: datasets.Dataset) -> list[int]:
        """jiant's dev instances are (query, entity mention) pairs, a query's mentions in the file's
        `passage.entities` order (jiant/tasks/qa.py:355-358); a query's rows here are its distinct
        candidates, so repeated mentions map to one row (their inputs, hence scores, are equal)."""
        rows: list[int] = []
        first = 0
        for candidates, mentions in zip(raw["candidates"], raw["mentions"], strict=True):
            rows += [first + number for number in mentions]
            first += len(candidates)
        return rows

    def label_counts(self, raw: datasets.Dataset) -> tuple[int, int]:
        """A query is labelled when it has gold answers (test queries have none)."""
        return sum(1 for answers in raw["answers"] if answers), len(raw)
