"""How `SpanPairFeaturizer` turns a character span into sub-tokens (`marking`).

- `offsets`: `project_span`, the sub-tokens whose characters overlap the span (WSC; WiC's exact rule).
- `jiant`: `jiant_token_span`, WiC as jiant v1 marked it (the paper's WiC).

jiant's `_process_preserving_word` (jiant/tasks/tasks.py:2705-2716, called with `word =
sentence[start:end]` at 2725-2728) does not use the offsets to place the word: it counts the
sub-tokens of the text before the word's *first* occurrence, `sentence.split(word)[0]`, which may lie
elsewhere than the offsets ("go" inside "got"), and takes the span's length from the word tokenised
alone, without the space before it, so the word can split into other pieces than inside the sentence.
Each piece is tokenised on its own and stripped, as pytorch_transformers 1.2 (jiant's) does around
special tokens, and cut to `max_seq_len - 2` by `tokenize_and_truncate`. The span then starts at the
sentence's first sub-token (jiant's `offset1` / `offset2`, tasks.py:2780-2785).
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase


def project_span(
    offsets: Sequence[tuple[int, int]], segments: Sequence[int | None], segment: int, start: int, end: int
) -> tuple[int, int] | None:
    """Sub-tokens `[first, last + 1)` of `segment` overlapping characters `[start, end)`, or None when
    truncation removed them all."""
    hits = [
        t
        for t, ((a, b), seg) in enumerate(zip(offsets, segments, strict=True))
        if seg == segment and b > a and a < end and b > start
    ]
    return (hits[0], hits[-1] + 1) if hits else None


def jiant_marked_tokens(
    tokenizer: PreTrainedTokenizerBase, sentence: str, start: int, end: int, budget: int
) -> tuple[int, int]:
    """(sub-tokens before the word, sub-tokens of the word) by jiant's rule, each capped at `budget`."""
    word = sentence[start:end]
    before = sentence.split(word)[0].strip()
    return min(len(tokenizer.tokenize(before)), budget), min(len(tokenizer.tokenize(word.strip())), budget)


def jiant_token_span(
    tokenizer: PreTrainedTokenizerBase,
    sequence_ids: Sequence[int | None],
    sentence: str,
    segment: int,
    start: int,
    end: int,
    max_length: int,
) -> tuple[int, int] | None:
    """The half-open sub-token span jiant marks for characters [start, end) of `sentence`, the
    `segment`-th text of an encoded sequence; None when truncation removed its start."""
    positions = [t for t, part in enumerate(sequence_ids) if part == segment]
    if not positions:
        return None
    before, length = jiant_marked_tokens(tokenizer, sentence, start, end, max_length - 2)
    first = positions[0] + before
    if first > positions[-1]:
        return None
    # Not clipped to the sentence: a word that splits into more pieces alone reaches past it, as in jiant.
    return first, min(first + length, len(sequence_ids))
