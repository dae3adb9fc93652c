"""WiC against jiant v1 (issue 24, items 1 and 3).

- Marked positions (kept, measured): jiant finds the marked word by the text before its first
  occurrence in the sentence, `sent.split(word)[0]` with `word = sent[start:end]`
  (jiant/tasks/tasks.py:2705-2716, 2725-2728), and takes the span's length from the word tokenised
  alone; stilts marks exactly the sub-tokens of the `start`/`end` offsets.
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


@needs_realdata
def test_stilts_marks_the_offsets_where_jiants_rule_would_mark_another_word(tmp_path) -> None:
    if not FULL_WIC.is_dir():
        pytest.skip("no full WiC files")
    records = []
    for row in differing_rows(FULL_WIC / "train.jsonl"):
        try:
            records.append({"idx": len(records), "label": 0, **wic_record(row)})
        except ValueError:  # a row the reader rejects is not featurized at all
            continue
    assert len(records) >= 15
    featurizer = instantiate(wic_spec().cfg.featurizer)
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    rows = featurizer(datasets.Dataset.from_list(records), tokenizer, 256, tmp_path)
    moved = 0
    for record, row in zip(records, rows, strict=True):
        encoded = tokenizer(record["text_a"], record["text_b"], return_offsets_mapping=True)
        for k, text in ((1, record["text_a"]), (2, record["text_b"])):
            start, end = record[f"span{k}_char_start"], record[f"span{k}_char_end"]
            marked = range(row[f"span{k}_start"], row[f"span{k}_end"])
            sequence = encoded.sequence_ids()
            # Independently: the sub-tokens of this sentence whose characters overlap the offsets.
            expected = [
                t
                for t, (a, b) in enumerate(encoded["offset_mapping"])
                if sequence[t] == k - 1 and a < end and b > start
            ]
            assert list(marked) == expected, (text, start, end)
            jiant = jiant_start(text, start, end)
            moved += jiant != start and all(encoded["offset_mapping"][t][0] > jiant for t in marked)
    assert moved >= 15  # jiant's occurrence lies before the marked word, outside stilts' span


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
