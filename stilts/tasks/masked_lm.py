"""Masked-language-model (MLM) training on plain text: reader, featurizer and masking collator.

Task: `mlm` (conf/task/mlm.yaml) continues pre-training the encoder on a corpus, as BERT/RoBERTa
were trained: 15% of the tokens are chosen, 80% of those replaced by the mask token, 10% by a
random token, 10% kept, and the model predicts the originals. Format: plain text, one sentence or
paragraph per line (`${paths.data_dir}/mlm/{train,val}.txt`). Score: masked-token accuracy. Run
it as a stage with `save_encoder=true`, then start other stages from it with
`model.encoder_weights=<run dir>/encoder.safetensors` (the demo does this).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from stilts.contracts import IGNORE_INDEX
from stilts.tasks.batching import PaddingCollator
from stilts.tasks.featurizers import Batch, Featurizer
from stilts.tasks.readers import LocalReader, Record, decoded_lines
from stilts.tasks.values import LabelMap


class TextLinesReader(LocalReader):
    """Plain text files: every non-empty line is one example (`text_a`)."""

    def records(self, paths: list[Path], labels: LabelMap) -> Iterator[Record]:
        idx = 0
        for path in paths:
            for _, text in decoded_lines(path):
                if text.strip():
                    yield {"idx": idx, "text_a": text.strip()}
                    idx += 1


def masking_ids(tokenizer: PreTrainedTokenizerBase, pad_token_id: int | None = None) -> dict[str, int]:
    """The token ids MaskingCollator needs: padding, mask, and the special tokens it never masks."""
    if tokenizer.mask_token_id is None:
        raise ValueError("masked-LM training needs a tokenizer with a mask token")
    return {
        "pad": tokenizer.pad_token_id if pad_token_id is None else pad_token_id,
        "mask": tokenizer.mask_token_id,
        "bos": tokenizer.cls_token_id if tokenizer.cls_token_id is not None else -1,
        "eos": tokenizer.sep_token_id if tokenizer.sep_token_id is not None else -1,
    }


class MaskingCollator(PaddingCollator):
    """Pads a batch, then masks it for MLM with a seeded generator (reproducible masks)."""

    def __init__(self, tokenizer_ids: dict[str, int], vocab_size: int, probability: float, seed: int) -> None:
        super().__init__(MaskedLMFeaturizer.pad_values, tokenizer_ids["pad"])
        self.ids = tokenizer_ids
        self.vocab_size = vocab_size
        self.probability = probability
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = super().__call__(examples)
        input_ids = batch["input_ids"]
        special = (
            (input_ids == self.ids["pad"]) | (input_ids == self.ids["bos"]) | (input_ids == self.ids["eos"])
        )
        draw = torch.rand(input_ids.shape, generator=self.generator)
        chosen = (draw < self.probability) & ~special
        labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        action = torch.rand(input_ids.shape, generator=self.generator)
        masked = input_ids.masked_fill(chosen & (action < 0.8), self.ids["mask"])
        random_tokens = torch.randint(self.vocab_size, input_ids.shape, generator=self.generator)
        batch["input_ids"] = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_tokens, masked)
        batch["mlm_labels"] = labels
        return batch


class MaskedLMFeaturizer(Featurizer):
    """Tokenizes each line (truncated at max length); masking happens per batch in the collator.

    Args:
        mask_probability: share of (non-special) tokens chosen for prediction.
        seed: seed of the masking generator.
    """

    pad_values = {"input_ids": -1, "attention_mask": 0}

    def __init__(self, mask_probability: float = 0.15, seed: int = 0) -> None:
        self.mask_probability = mask_probability
        self.seed = seed
        self._tokenizer: PreTrainedTokenizerBase | None = None

    def encode(self, batch: Batch, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Batch:
        encoded = self.tokenize(tokenizer, batch["text_a"], None, max_length)
        return {
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            "length": [len(ids) for ids in encoded["input_ids"]],
        }

    def __call__(
        self, dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int, cache_dir: Path
    ) -> datasets.Dataset:
        self._tokenizer = tokenizer  # the collator needs its special ids and vocabulary size
        return super().__call__(dataset, tokenizer, max_length, cache_dir)

    def segments(self, batch: Batch) -> tuple[list[str], None]:
        return batch["text_a"], None

    def collator(self, pad_token_id: int) -> MaskingCollator:
        tokenizer = self._tokenizer
        if tokenizer is None:
            raise ValueError("the masked-LM featurizer has not seen its tokenizer yet")
        ids = masking_ids(tokenizer, pad_token_id)
        return MaskingCollator(ids, len(tokenizer), self.mask_probability, self.seed)
