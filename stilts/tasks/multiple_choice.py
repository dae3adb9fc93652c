"""Multiple-choice tasks: featurizer, collator and the Hub reader of COPA, CommonsenseQA and HellaSwag.

Tasks (local readers in `stilts.tasks.multiple_choice_readers`):
- COPA (SuperGLUE; jsonl `premise, choice1, choice2, question: cause|effect, label 0|1`; 2 choices).
- CommonsenseQA (jsonl `answerKey, question{stem, choices[{label, text}]}`; 5 choices A-E).
- Cosmos QA (csv `id,context,question,answer0..answer3,label`; 4 choices).
- SocialIQA (jsonl `context, question, answerA/B/C` + a labels file with 1/2/3 per line; 3 choices).
- HellaSwag (jsonl `ctx_a, ctx_b, endings[4], label`; 4 endings).
Paper score of all five: accuracy.

Canonical record: `idx`, `label` (index of the right choice, -1 unlabeled), `context` (first segment)
and `choices` (second segment of each choice). Every choice is encoded as the pair (context, choice);
the featurizer tokenizes all choices of a batch in one flat tokenizer call and regroups them, the
collator flattens a batch to `[batch * choices, tokens]` for the encoder and adds `choice_mask`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from stilts.errors import DataFormatError
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.hub import HubReader

# COPA as a sentence to complete (RoBERTa / fairseq style): "<premise> because" / "<premise> so".
COPA_CONNECTIVES = {"cause": "because", "effect": "so"}


def copa_texts(
    premise: str, question: str, choice1: str, choice2: str, connectives: Mapping[str, str]
) -> tuple[str, list[str]]:
    """COPA as (premise + connective, [choice1, choice2])."""
    if question not in connectives:
        raise ValueError(f"`question` is {question!r}, expected one of {sorted(connectives)}")
    return f"{premise.rstrip().rstrip('.')} {connectives[question]}", [choice1, choice2]


def commonsenseqa_texts(stem: str, choices: Sequence[str]) -> tuple[str, list[str]]:
    """CommonsenseQA as jiant v1 writes it: "Q: <stem>" / "A: <choice>"."""
    return f"Q: {stem}", [f"A: {text}" for text in choices]


def hellaswag_texts(ctx_a: str, ctx_b: str, endings: Sequence[str]) -> tuple[str, list[str]]:
    """HellaSwag as jiant v1 writes it: ctx_a / ctx_b + " " + ending."""
    return ctx_a, [f"{ctx_b} {ending}".strip() for ending in endings]


class MultipleChoiceFeaturizer(Featurizer):
    """(context, choice) pairs -> per-example nested `input_ids[choice][token]`."""

    version: ClassVar[int] = 1

    def _flat(self, batch: Batch) -> tuple[list[str], list[str], list[int]]:
        firsts: list[str] = []
        seconds: list[str] = []
        for context, choices in zip(batch["context"], batch["choices"], strict=True):
            firsts += [context] * len(choices)
            seconds += list(choices)
        return firsts, seconds, [len(c) for c in batch["choices"]]

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        firsts, seconds, counts = self._flat(batch)
        encoded = self.tokenize(tokenizer, firsts, seconds, max_length)
        out: Batch = {key: [] for key in encoded}
        out["length"] = []
        start = 0
        for count in counts:
            for key, values in encoded.items():
                out[key].append(values[start : start + count])
            # The longest choice decides how much padding the example brings to a batch.
            out["length"].append(max(len(ids) for ids in encoded["input_ids"][start : start + count]))
            start += count
        return out

    def segments(self, batch: Batch) -> tuple[list[str], list[str]]:
        """Every (context, choice) sequence."""
        firsts, seconds, _ = self._flat(batch)
        return firsts, seconds

    def describe(
        self, raw: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> dict[str, Any]:
        counts = Counter(len(choices) for choices in raw["choices"])
        return {"choices per question": {str(k): v for k, v in sorted(counts.items())}}

    def collator(self, pad_token_id: int) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
        return MultipleChoiceCollator(self.pad_values, pad_token_id)


class MultipleChoiceCollator:
    """Flattens `[batch][choice][token]` to `[batch * choices, tokens]`, padded, plus `choice_mask`.

    Examples with fewer choices than the batch's widest are filled with copies of their first choice
    (a real sequence, so no all-masked attention row), masked out by `choice_mask[batch, choice]`.
    """

    def __init__(self, pad_values: Mapping[str, int], pad_token_id: int) -> None:
        self.pad_values = {k: (pad_token_id if v == -1 else v) for k, v in pad_values.items()}

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(example["input_ids"]) for example in examples)
        batch: dict[str, torch.Tensor] = {}
        for key, pad in self.pad_values.items():
            if key not in examples[0]:
                continue
            rows: list[torch.Tensor] = []
            for example in examples:
                sequences = [torch.as_tensor(s) for s in example[key]]
                rows += sequences + [sequences[0]] * (width - len(sequences))
            batch[key] = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=pad)
        batch["choice_mask"] = torch.tensor(
            [[i < len(example["input_ids"]) for i in range(width)] for example in examples]
        )
        for key, first in examples[0].items():
            if key in self.pad_values or isinstance(first, str | list):
                continue
            batch[key] = torch.stack([torch.as_tensor(example[key]) for example in examples])
        return batch


class ChoiceHubReader(HubReader):
    """A multiple-choice Hub dataset (parquet), canonicalised to `context`/`choices` after loading by
    the subclass's `texts` (and `label`, where the raw label needs mapping).

    `fields` maps each raw column the subclass needs to itself (and `label` to the label column), so
    the base class checks the columns exist and maps labels.
    """

    def texts(self, row: dict[str, Any]) -> tuple[str, list[str]]:
        raise NotImplementedError

    def label(self, row: dict[str, Any], labels: Sequence[str], where: str) -> int:
        return row["label"]

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        raw = super().read(split, labels, cache_dir)
        where = f"hub:{self.path}/{self.name or ''}"

        def canonical(row: dict[str, Any]) -> dict[str, Any]:
            try:
                context, choices = self.texts(row)
            except (KeyError, TypeError, ValueError) as err:
                raise DataFormatError(where, row["idx"], f"cannot read the record ({err})") from None
            label = self.label(row, labels, where)
            return {"idx": row["idx"], "label": label, "context": context, "choices": choices}

        return raw.map(canonical, remove_columns=raw.column_names, desc=f"{where} {split} choices")


class CopaHubReader(ChoiceHubReader):
    """aps/super_glue copa.

    Args:
        connectives: COPA's connective per `question` value.
        **kwargs: `HubReader` arguments.
    """

    def __init__(self, connectives: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connectives = dict(connectives or COPA_CONNECTIVES)

    def texts(self, row: dict[str, Any]) -> tuple[str, list[str]]:
        return copa_texts(row["premise"], row["question"], row["choice1"], row["choice2"], self.connectives)


class CommonsenseQAHubReader(ChoiceHubReader):
    """tau/commonsense_qa."""

    def texts(self, row: dict[str, Any]) -> tuple[str, list[str]]:
        return commonsenseqa_texts(row["question"], row["choices"]["text"])

    def label(self, row: dict[str, Any], labels: Sequence[str], where: str) -> int:
        label = row["label"]
        if label < 0:
            return label
        # The label indexes A-E; the choice carrying that letter may sit elsewhere.
        letters = list(row["choices"]["label"])
        if labels[label] not in letters:
            raise DataFormatError(where, row["idx"], f"answerKey {labels[label]} is not a choice")
        return letters.index(labels[label])


class HellaSwagHubReader(ChoiceHubReader):
    """Rowan/hellaswag."""

    def texts(self, row: dict[str, Any]) -> tuple[str, list[str]]:
        return hellaswag_texts(row["ctx_a"], row["ctx_b"], row["endings"])
