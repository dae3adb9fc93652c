"""WiC against jiant v1 (issue 24, items 1 and 3).

- Marked positions (followed; `marking: offsets` one setting away): jiant finds the marked word by the
  text before its first occurrence in the sentence, `sent.split(word)[0]` with `word = sent[start:end]`
  (jiant/tasks/tasks.py:2705-2716, 2725-2728), and takes the span's length from the word tokenised
  alone. stilts' WiC yaml does the same (stilts.tasks.span_marking); `offsets` marks exactly the
  sub-tokens of the `start`/`end` offsets.
- Dropout (followed): jiant drops every token state (the encoder output,
  jiant/modules/sentence_encoder.py:135,154) before the first-token and span-mean pooling.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from stilts.models.encoder import load_tokenizer
from stilts.tasks.spec import TaskSpec
from stilts.tasks.superglue import wic_record
from tests.helpers import REALDATA, compose_cfg, needs_realdata

FULL_WIC = REALDATA / "full" / "wic"


def wic_spec() -> TaskSpec:
    return TaskSpec.from_config(compose_cfg(["task@target=wic", "model=tiny"]).target, key="target")


def jiant_start(sentence: str, start: int, end: int) -> int:
    """The character where jiant's marked word begins: after the text before the first occurrence of
    `sentence[start:end]` (jiant/tasks/tasks.py:2709-2713, on text rather than tokens)."""
    word = sentence[start:end]
    return len(sentence.split(word)[0])


def differing_rows(path: Path) -> list[dict]:
    """Rows of a WiC jsonl where jiant's rule marks another place than the offsets (either sentence)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        row
        for row in rows
        if any(
            jiant_start(row[f"sentence{k}"], row[f"start{k}"], row[f"end{k}"]) != row[f"start{k}"]
            for k in (1, 2)
        )
    ]


@needs_realdata
def test_jiants_first_occurrence_rule_moves_23_train_and_no_dev_rows() -> None:
    if not FULL_WIC.is_dir():
        pytest.skip("no full WiC files")
    counts = {split: len(differing_rows(FULL_WIC / f"{split}.jsonl")) for split in ("train", "val")}
    # docs/fidelity.md's measured size (of 5,428 and 638 rows).
    assert counts == {"train": 23, "val": 0}


def jiant_indices(tokenizer, row: dict) -> list[tuple[int, int]]:
    """jiant's (start, end) token indices of both marked words in `<s> s1 </s></s> s2 </s>`, written
    out from tasks.py:2705-2716 and 2780-2785: offset1 = 1, offset2 = len(s1 tokens) + 3; start = the
    stripped text before the word's first occurrence, tokenised; end = start + the word's tokens."""
    spans, offset = [], 1
    for k in (1, 2):
        sentence = row[f"sentence{k}"]
        word = sentence[row[f"start{k}"] : row[f"end{k}"]]
        start = offset + len(tokenizer.tokenize(sentence.split(word)[0].strip()))
        spans.append((start, start + len(tokenizer.tokenize(word))))
        offset = 1 + len(tokenizer.tokenize(sentence)) + 2
    return spans


def featurize(rows: list[dict], marking: str | None, tmp_path: Path) -> tuple[list[dict], datasets.Dataset]:
    """The rows the reader accepts, and their features under the WiC yaml's featurizer (`marking`
    overridden when given), with the tiny RoBERTa-style tokenizer."""
    records, kept = [], []
    for row in rows:
        try:
            records.append({"idx": len(records), "label": 0, **wic_record(row)})
            kept.append(row)
        except ValueError:  # a row the reader rejects is not featurized at all
            continue
    node = wic_spec().cfg.featurizer
    featurizer = instantiate(node) if marking is None else instantiate(node, marking=marking)
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    return kept, featurizer(datasets.Dataset.from_list(records), tokenizer, 256, tmp_path)


def real_rows() -> list[dict]:
    """Every dev row and the training rows where jiant's text rule moves the word, plus the first 300."""
    if not FULL_WIC.is_dir():
        pytest.skip("no full WiC files")
    val = (FULL_WIC / "val.jsonl").read_text(encoding="utf-8").splitlines()
    train = (FULL_WIC / "train.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    return [json.loads(line) for line in val + train] + differing_rows(FULL_WIC / "train.jsonl")


@needs_realdata
def test_the_paper_wic_marks_the_tokens_jiants_rule_marks(tmp_path) -> None:
    rows, features = featurize(real_rows(), None, tmp_path)
    assert len(rows) >= 900
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    got = [[(f["span1_start"], f["span1_end"]), (f["span2_start"], f["span2_end"])] for f in features]
    assert got == [jiant_indices(tokenizer, row) for row in rows]


@needs_realdata
def test_marking_offsets_marks_the_offsets_where_jiants_rule_marks_another_word(tmp_path) -> None:
    rows, features = featurize(differing_rows(FULL_WIC / "train.jsonl"), "offsets", tmp_path)
    assert len(rows) >= 15
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    moved = 0
    for row, feature in zip(rows, features, strict=True):
        encoded = tokenizer(row["sentence1"], row["sentence2"], return_offsets_mapping=True)
        sequence = encoded.sequence_ids()
        for k in (1, 2):
            start, end = row[f"start{k}"], row[f"end{k}"]
            # Independently: the sub-tokens of this sentence whose characters overlap the offsets.
            expected = [
                t
                for t, (a, b) in enumerate(encoded["offset_mapping"])
                if sequence[t] == k - 1 and a < end and b > start
            ]
            marked = list(range(feature[f"span{k}_start"], feature[f"span{k}_end"]))
            assert marked == expected, (row[f"sentence{k}"], start, end)
            moved += marked != list(range(*jiant_indices(tokenizer, row)[k - 1]))
    assert moved >= 15  # these rows are where the two settings differ


def test_wic_head_drops_each_token_state_before_pooling() -> None:
    """On all-ones states, dropout p = 0.5 before pooling makes a 4-token span mean take values
    0, 0.5, 1, 1.5 or 2; dropping the pooled vector (stilts' earlier placement) gives only 0 or 2."""
    torch.manual_seed(0)
    head = instantiate(wic_spec().cfg.head, hidden_size=256, labels=["false", "true"], dropout=0.5)
    head.train()
    seen: list[torch.Tensor] = []
    linear = next(m for m in head.modules() if isinstance(m, nn.Linear))
    linear.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    batch = {"span1_start": torch.tensor([1]), "span1_end": torch.tensor([5])}
    batch |= {"span2_start": torch.tensor([5]), "span2_end": torch.tensor([9])}
    head(torch.ones(1, 10, 256), batch)
    first, span1 = seen[0][0, :256], seen[0][0, 256:512]
    assert set(first.unique().tolist()) == {0.0, 2.0}  # the first token's state, dropped on its own
    assert {0.5, 1.0, 1.5} <= set(span1.unique().tolist())  # means of independently dropped states
