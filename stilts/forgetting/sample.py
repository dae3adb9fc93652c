"""The fixed held-out text sample every encoder of a study is measured on, masked once, deterministically."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig
from transformers import PreTrainedTokenizerBase

from stilts.errors import ConfigError
from stilts.tasks.masked_lm import MaskingCollator, masking_ids


def read_sample(path: Path, max_sentences: int) -> list[str]:
    """The first `max_sentences` non-empty lines of the sample file (one sentence or paragraph a line)."""
    if not path.is_file():
        raise ConfigError(
            f"`forgetting.text` is {path}: no such file. Give a plain-text file (one sentence a line) that "
            "is neither intermediate nor target training data, or set forgetting.enabled=false"
        )
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"`forgetting.text` {path}: the file has no text")
    return lines[:max_sentences]


def masked_batches(
    texts: list[str], tokenizer: PreTrainedTokenizerBase, settings: DictConfig, max_length: int
) -> list[dict[str, torch.Tensor]]:
    """The sample in fixed order and batches, masked as in MLM training (15% chosen, 80/10/10) by a
    generator seeded with `forgetting.seed`: the same masks for every encoder."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    ids = masking_ids(tokenizer)
    collate = MaskingCollator(ids, len(tokenizer), float(settings.mask_probability), int(settings.seed))
    examples = [
        {"input_ids": i, "attention_mask": m}
        for i, m in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
    ]
    size = int(settings.batch_size)
    return [collate(examples[start : start + size]) for start in range(0, len(examples), size)]
