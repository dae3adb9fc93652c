"""Length-varied synthetic sentence pairs in RTE's native format (SuperGLUE jsonl).

Every example's token count (with the tokenizer's special tokens) is drawn from a `Lengths`
distribution, so batches of random examples pad a lot and length-grouped batches little, as with real
NLU data whose lengths spread over an order of magnitude.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerBase

# Common English words: the tiny byte-level BPE splits them into one to a few tokens each.
WORDS = (
    "the of and to in is was for on that with as by at from his her it an were are which this be or "
    "has had not first one their its new after who they have two been other also all there more when "
    "into time during most would only over city year team three may world about between later then "
    "some such used where school made film state could united would both many name game part because "
    "season since under well while known before place through house early being these born against "
    "river people group including series national south north west east family war government public "
    "county album second music work small however called album long large number area following "
    "several around high party life same each great best another three local company until home four "
    "water village station member major received played became town island history language church"
).split()
PREMISE_SHARE = 0.65  # RTE premises are longer than hypotheses
MIN_TOKENS = 8  # the shortest example a log-normal draw may give


@dataclass(frozen=True)
class Lengths:
    """A distribution of example lengths in tokens, written `lognormal:MEDIAN:SIGMA:MAX` (log-normal
    with that median and log-scale spread, cut to [8, MAX]) or `uniform:MIN:MAX`."""

    kind: str
    low: float  # uniform: the shortest; lognormal: the median
    spread: float  # lognormal only: standard deviation of the log length
    max_tokens: int

    @classmethod
    def parse(cls, spec: str) -> Lengths:
        kind, *numbers = spec.split(":")
        try:
            values = [float(x) for x in numbers]
        except ValueError:
            values = []
        if kind == "uniform" and len(values) == 2 and 2 <= values[0] <= values[1]:
            return cls(kind, values[0], 0.0, int(values[1]))
        if kind == "lognormal" and len(values) == 3:
            median, sigma, longest = values
            if median > 0 and sigma >= 0 and longest >= MIN_TOKENS:
                return cls(kind, median, sigma, int(longest))
        raise ValueError(
            f"length distribution {spec!r}: expected `lognormal:MEDIAN:SIGMA:MAX` (MEDIAN > 0, SIGMA >= 0, "
            f"MAX >= {MIN_TOKENS}) or `uniform:MIN:MAX` (2 <= MIN <= MAX)"
        )

    def __str__(self) -> str:
        if self.kind == "uniform":
            return f"uniform:{self.low:g}:{self.max_tokens}"
        return f"lognormal:{self.low:g}:{self.spread:g}:{self.max_tokens}"

    def draw(self, rng: np.random.Generator) -> int:
        if self.kind == "uniform":
            return int(rng.integers(int(self.low), self.max_tokens + 1))
        drawn = round(math.exp(rng.normal(math.log(self.low), self.spread)))
        return min(max(drawn, MIN_TOKENS), self.max_tokens)


def _word_costs(tokenizer: PreTrainedTokenizerBase) -> np.ndarray:
    """Tokens per word when it follows a space (byte-level BPE splits on spaces first)."""
    ids = tokenizer([" " + w for w in WORDS], add_special_tokens=False)["input_ids"]
    return np.array([len(x) for x in ids])


def _text(rng: np.random.Generator, costs: np.ndarray, budget: int) -> str:
    words: list[str] = []
    used = 0
    while used < budget or not words:
        pick = int(rng.integers(len(WORDS)))
        words.append(WORDS[pick])
        used += int(costs[pick])
    return " ".join(words).capitalize() + "."


def write_rte(
    task_dir: Path,
    tokenizer: PreTrainedTokenizerBase,
    n_train: int,
    lengths: Lengths,
    n_val: int = 64,
    seed: int = 0,
) -> Path:
    """Write `train.jsonl`, `val.jsonl` and `test.jsonl` of synthetic RTE under `task_dir`.

    Args:
        task_dir: the task folder (`<data_dir>/rte`), created if needed.
        tokenizer: the tokenizer whose token counts the lengths are drawn in.
        n_train: training examples.
        lengths: the distribution of an example's length in tokens, special tokens included.
        n_val: validation examples (test gets `n_val` unlabeled ones).
        seed: the generator's seed (same seed, same files).

    Returns:
        `task_dir`.
    """
    task_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    costs = _word_costs(tokenizer)
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    labels = ("entailment", "not_entailment")
    for name, count, labelled in (("train", n_train, True), ("val", n_val, True), ("test", n_val, False)):
        with (task_dir / f"{name}.jsonl").open("w") as handle:
            for idx in range(count):
                budget = max(2, lengths.draw(rng) - specials)
                first = max(1, round(budget * PREMISE_SHARE))
                record = {
                    "premise": _text(rng, costs, first),
                    "hypothesis": _text(rng, costs, max(1, budget - first)),
                    "idx": idx,
                }
                if labelled:
                    record["label"] = labels[int(rng.integers(2))]
                handle.write(json.dumps(record) + "\n")
    return task_dir
