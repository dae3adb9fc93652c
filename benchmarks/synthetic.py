"""Length-varied synthetic sentence pairs in RTE's native format (SuperGLUE jsonl).

Every example's token count (with the tokenizer's special tokens) is drawn uniformly from
`[min_tokens, max_tokens]`, so batches of random examples pad a lot and length-grouped batches little,
as with real NLU data whose lengths spread over an order of magnitude.
"""

from __future__ import annotations

import json
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
    n_val: int = 64,
    min_tokens: int = 8,
    max_tokens: int = 128,
    seed: int = 0,
) -> Path:
    """Write `train.jsonl`, `val.jsonl` and `test.jsonl` of synthetic RTE under `task_dir`.

    Args:
        task_dir: the task folder (`<data_dir>/rte`), created if needed.
        tokenizer: the tokenizer whose token counts the lengths are drawn in.
        n_train, n_val: examples per split (test gets `n_val` unlabeled ones).
        min_tokens, max_tokens: range of an example's length in tokens, special tokens included.
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
                budget = max(2, int(rng.integers(min_tokens, max_tokens + 1)) - specials)
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
