"""Truncation of text segments to `model.max_length`, the one place every featurizer tokenizes through.

`model.truncation` picks the rule:

- `segment` (the paper's): each text segment is cut on its own to `max_length - 2` tokens, then the
  boundary tokens are added (jiant v1 `tokenize_and_truncate`, jiant/utils/data_loaders.py:302-311,
  with `max_seq_len = 256` from jiant/config/taskmaster/base_roberta.conf:8; RoBERTa's
  `<s> a </s></s> b </s>`, jiant/pytorch_transformers_interface/modules.py:335-340). A pair can so
  hold up to 254 + 254 text tokens (512 with RoBERTa's four boundary tokens); a single segment holds
  254 + 2 = 256, as with `pair`.
- `pair` (stilts' earlier rule): the whole sequence, boundary tokens included, is cut to
  `max_length`, longest segment first (or the second only, where a featurizer asks for it).

jiant asserted that a batch fits the encoder's positions (modules.py:119-122) and stopped otherwise;
stilts instead cuts a segment-truncated pair that would not fit the encoder's usable positions
longest-first down to them, so a model with fewer positions still runs (`stilts-data` counts these
sequences as truncated). With RoBERTa (512 usable positions) and `max_length` 256 that never happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers import Encoding, Tokenizer
from transformers import BatchEncoding, PreTrainedTokenizerBase

from stilts.errors import ConfigError

MODES = ("segment", "pair")
# jiant's `max_seq_len -= 2  # For boundary tokens.` (jiant/utils/data_loaders.py:304)
BOUNDARY_TOKENS = 2


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"`model.truncation` is {mode!r}; use one of {MODES}")
    return mode


def segment_budget(max_length: int) -> int:
    """Text tokens one segment keeps in `segment` mode (254 for `max_length` 256)."""
    return max_length - BOUNDARY_TOKENS


def usable_positions(tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The encoder's usable positions, which `load_tokenizer` records on the tokenizer (None: unknown)."""
    return getattr(tokenizer, "_stilts_positions", None)


def fit_longest_first(first: int, second: int, limit: int) -> tuple[int, int]:
    """Segment lengths after removing tokens one at a time from the longer segment (the second on a
    tie, as the tokenizers library does) until both together hold at most `limit` tokens."""
    while first + second > limit:
        if first > second:
            first -= 1
        else:
            second -= 1
    return first, second


def kept_lengths(
    lengths: tuple[int, int | None], max_length: int, positions: int | None, specials: int
) -> tuple[int, int | None]:
    """Text tokens each segment keeps in `segment` mode, given its untruncated token counts."""
    budget = segment_budget(max_length)
    first, second = lengths
    if second is None:
        return min(first, budget), None
    first, second = min(first, budget), min(second, budget)
    if positions is not None and first + second + specials > positions:
        first, second = fit_longest_first(first, second, positions - specials)
    return first, second


def encode(
    tokenizer: PreTrainedTokenizerBase,
    firsts: list[str],
    seconds: list[str] | None,
    *,
    max_length: int,
    mode: str,
    offsets: bool = False,
    pair_strategy: bool | str = True,
) -> BatchEncoding:
    """Tokenize single texts or pairs under `mode`; the result is the tokenizer's usual BatchEncoding
    (`input_ids`, `attention_mask`, `token_type_ids` where the tokenizer returns them, with
    `offset_mapping` when `offsets`), whose `sequence_ids(i)` tell the segments apart.

    Args:
        pair_strategy: the tokenizer's `truncation` value in `pair` mode (`only_second` keeps the
            first segment whole).
    """
    if check_mode(mode) == "pair":
        return tokenizer(
            firsts, seconds, truncation=pair_strategy, max_length=max_length, return_offsets_mapping=offsets
        )
    return _encode_segments(tokenizer, firsts, seconds, max_length, offsets)


def _backends(tokenizer: PreTrainedTokenizerBase) -> tuple[Tokenizer, Tokenizer]:
    """Two private copies of the tokenizer's backend, without truncation or padding: one without its
    post-processor (raw segment tokens; RoBERTa's processor trims offsets, and must run only once)
    and one with it (adds the boundary tokens to the cut segments, as the tokenizer's own pair call)."""
    cached = getattr(tokenizer, "_stilts_backends", None)
    if cached is None:
        body = tokenizer.backend_tokenizer.to_str()
        raw, full = Tokenizer.from_str(body), Tokenizer.from_str(body)
        for backend in (raw, full):
            backend.no_truncation()
            backend.no_padding()
        raw.post_processor = None
        cached = tokenizer._stilts_backends = (raw, full)
    return cached


def _encode_segments(
    tokenizer: PreTrainedTokenizerBase,
    firsts: list[str],
    seconds: list[str] | None,
    max_length: int,
    offsets: bool,
) -> BatchEncoding:
    raw, backend = _backends(tokenizer)
    positions = usable_positions(tokenizer)
    specials = backend.num_special_tokens_to_add(seconds is not None)
    a_parts = raw.encode_batch(firsts, add_special_tokens=False)
    b_parts: Sequence[Encoding | None] = (
        raw.encode_batch(seconds, add_special_tokens=False) if seconds is not None else [None] * len(a_parts)
    )
    merged: list[Encoding] = []
    for a, b in zip(a_parts, b_parts, strict=True):
        keep_a, keep_b = kept_lengths(
            (len(a.ids), None if b is None else len(b.ids)), max_length, positions, specials
        )
        a.truncate(keep_a)
        if b is not None and keep_b is not None:
            b.truncate(keep_b)
        # The tokenizer's own template adds its boundary tokens, type ids and sequence ids.
        merged.append(backend.post_process(a, b, add_special_tokens=True))
    data: dict[str, Any] = {"input_ids": [e.ids for e in merged]}
    if "token_type_ids" in tokenizer.model_input_names:
        data["token_type_ids"] = [e.type_ids for e in merged]
    data["attention_mask"] = [e.attention_mask for e in merged]
    if offsets:
        data["offset_mapping"] = [e.offsets for e in merged]
    return BatchEncoding(data, encoding=merged)


def truncated(
    tokenizer: PreTrainedTokenizerBase,
    firsts: list[str],
    seconds: list[str] | None,
    *,
    max_length: int,
    mode: str,
) -> list[bool]:
    """Whether `encode` cuts each sequence (for `stilts-data`'s truncated share)."""
    lengths_a = [len(ids) for ids in tokenizer(firsts, add_special_tokens=False)["input_ids"]]
    lengths_b: Sequence[int | None] = (
        [len(ids) for ids in tokenizer(seconds, add_special_tokens=False)["input_ids"]]
        if seconds is not None
        else [None] * len(lengths_a)
    )
    specials = tokenizer.num_special_tokens_to_add(pair=seconds is not None)
    if check_mode(mode) == "pair":
        return [a + (b or 0) + specials > max_length for a, b in zip(lengths_a, lengths_b, strict=True)]
    positions = usable_positions(tokenizer)
    return [
        kept_lengths((a, b), max_length, positions, specials) != (a, b)
        for a, b in zip(lengths_a, lengths_b, strict=True)
    ]
