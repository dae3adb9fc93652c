"""`local.resplit`: train and val drawn from one split's files (see `Resplit`)."""

from __future__ import annotations

from dataclasses import dataclass

import datasets
import numpy as np

from stilts.errors import ConfigError

RESPLIT_PARTS = ("train", "val")  # the splits `local.resplit` draws from one source split


@dataclass(frozen=True)
class Resplit:
    """Train and val drawn from one split's files, for datasets distributed without one of them
    (Cosmos QA and CommonsenseQA mirrors that hold only the dev file): a seeded permutation of the
    source split's records; its first `round(val_fraction * n)` are val, the rest train, each part in
    file order (`idx` kept). Task yaml or command line: `local.resplit={source: val, val_fraction:
    0.2, seed: 0}`.
    """

    source: str
    val_fraction: float
    seed: int

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"`local.resplit.val_fraction` is {self.val_fraction}; use a share in (0, 1)")

    def part(self, whole: datasets.Dataset, split: str) -> datasets.Dataset:
        order = np.random.default_rng(self.seed).permutation(len(whole))
        n_val = round(self.val_fraction * len(whole))
        chosen = order[:n_val] if split == "val" else order[n_val:]
        return whole.select(np.sort(chosen))
