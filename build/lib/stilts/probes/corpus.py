"""Corpus reading, label balancing, splitting and the two native writers of `stilts-probes`.

Tasks are written in exactly the formats stilts' readers read (stilts.tasks.probing): SentEval
`partition \\t label \\t sentence` files (tr/va/te, ordered by partition, shuffled within), and DNC
function-word `<stem>_data.json` + `<stem>_metadata.json` arrays aligned by position, with a 10-fold
assignment in `misc.fold1..fold10`.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stilts.errors import DataFormatError, StiltsError

log = logging.getLogger(__name__)

# Simple punctuation splitting before whitespace tokenisation (close enough to Moses for probing).
_PUNCT = re.compile(r"([.,!?;:()\"])")
PUNCTUATION = frozenset(".,!?;:()\"'-")
SPLIT_SHARES = (("tr", 0.8), ("va", 0.1), ("te", 0.1))
FOLDS = 10
DNC_LABELS = ("acceptable", "unacceptable")


class TooFewExamples(StiltsError):
    """A task cannot be built from this corpus (too few usable sentences); the task is skipped."""


def tokenize(line: str) -> list[str]:
    """Split punctuation off words, then split on whitespace."""
    return _PUNCT.sub(r" \1 ", line).split()


def read_corpus(path: Path, max_sentences: int | None = None) -> list[list[str]]:
    """Tokenised sentences of a one-sentence-per-line text file, in order (blank lines skipped)."""
    if not path.is_file():
        raise StiltsError(f"no corpus file at {path}")
    sentences: list[list[str]] = []
    with path.open(encoding="utf-8", errors="strict") as handle:
        try:
            for line in handle:
                tokens = tokenize(line.replace("\t", " "))
                if tokens:
                    sentences.append(tokens)
                    if max_sentences is not None and len(sentences) >= max_sentences:
                        break
        except UnicodeDecodeError as err:
            raise DataFormatError(
                path, len(sentences) + 1, f"bytes that are not UTF-8 ({err.reason})"
            ) from None
    if not sentences:
        raise DataFormatError(path, None, "the corpus holds no sentences (one sentence per line expected)")
    log.info("read %d sentences from %s", len(sentences), path)
    return sentences


def is_word(token: str) -> bool:
    return any(ch.isalpha() for ch in token) and not set(token) <= PUNCTUATION


def balance(
    by_label: Mapping[str, Sequence[Any]],
    rng: random.Random,
    min_per_label: int,
    labels: Sequence[str] | None = None,
) -> dict[str, list[Any]]:
    """Down-sample every label to the rarest one's count.

    Args:
        by_label: label -> candidate examples.
        rng: the task's random generator.
        min_per_label: labels with fewer examples are dropped (open label sets) or make the task
            unbuildable (`labels` given: every one of them is required).
        labels: the labels the task needs; None for open sets (length bins, target words).
    """
    if labels is not None:
        short = {
            lab: len(by_label.get(lab, ())) for lab in labels if len(by_label.get(lab, ())) < min_per_label
        }
        if short:
            raise TooFewExamples(f"fewer than {min_per_label} usable sentences for labels {short}")
        kept = {lab: list(by_label[lab]) for lab in labels}
    else:
        kept = {lab: list(xs) for lab, xs in sorted(by_label.items()) if len(xs) >= min_per_label}
        if len(kept) < 2:
            raise TooFewExamples(f"fewer than 2 labels with {min_per_label}+ usable sentences")
    size = min(len(xs) for xs in kept.values())
    return {lab: rng.sample(xs, size) for lab, xs in kept.items()}


def partition_sizes(n: int) -> list[int]:
    """tr/va/te sizes of n examples of one label: 80/10/10, at least one in each when n >= 3."""
    va = max(1, round(n * SPLIT_SHARES[1][1])) if n >= 3 else 0
    te = max(1, round(n * SPLIT_SHARES[2][1])) if n >= 3 else 0
    return [n - va - te, va, te]


def write_senteval(path: Path, by_label: Mapping[str, Sequence[str]], rng: random.Random) -> int:
    """Write a SentEval file, split per label (stratified), ordered by partition. Returns lines."""
    parts: dict[str, list[tuple[str, str]]] = {name: [] for name, _ in SPLIT_SHARES}
    for label, sentences in by_label.items():
        start = 0
        for (name, _), size in zip(SPLIT_SHARES, partition_sizes(len(sentences)), strict=True):
            parts[name] += [(label, s) for s in sentences[start : start + size]]
            start += size
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, rows in parts.items():
        rng.shuffle(rows)
        lines += [f"{name}\t{label}\t{sentence}" for label, sentence in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def fold_assignment(chunk: int) -> dict[str, str]:
    """`misc.fold1..fold10` of a record in chunk 0..9: fold f tests chunk f-1, validates on the
    chunk before it (as in DNC, where a record tested in fold10 is the dev record of fold1)."""
    return {
        f"fold{f}": "test" if chunk == f - 1 else "dev" if chunk == (f - 2) % FOLDS else "train"
        for f in range(1, FOLDS + 1)
    }


def write_dnc(
    task_dir: Path,
    stem: str,
    by_label: Mapping[str, Sequence[tuple[str, str]]],
    rng: random.Random,
    corpus: str,
) -> int:
    """Write `<stem>_data.json` and `<stem>_metadata.json` (aligned, shuffled, 10 folds stratified
    by label). `by_label` maps acceptable/unacceptable to (context, hypothesis) pairs."""
    rows = []
    for label, pairs in by_label.items():
        rows += [(label, context, hyp, i % FOLDS) for i, (context, hyp) in enumerate(pairs)]
    rng.shuffle(rows)
    data, meta = [], []
    for number, (label, context, hypothesis, chunk) in enumerate(rows):
        folds = fold_assignment(chunk)
        data.append({
            "binary-label": label == "acceptable",
            "context": context,
            "hypothesis": hypothesis,
            "label": label,
            "label-set": list(DNC_LABELS),
            "pair-id": number,
            "split": folds["fold1"],
            "type-of-inference": f"{stem}.tsv",
        })  # fmt: skip
        meta.append({
            "corpus": corpus,
            "corpus-license": "that of the input corpus",
            "corpus-sent-id": number,
            "creation-approach": "automatic (stilts-probes)",
            "misc": folds,
            "pair-id": number,
        })  # fmt: skip
    task_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / f"{stem}_data.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (task_dir / f"{stem}_metadata.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return len(data)
