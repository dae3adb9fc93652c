"""Length-grouped batch sampling, dynamic padding, and the data loader that serves them.

Training batches group examples of similar length (shuffled within large "mega-batches", then the
batches themselves shuffled) so little compute goes to padding; each batch is padded only to its own
longest sequence. Under DDP every rank takes an equal share of the batches itself (the trainer runs
with `use_distributed_sampler=False`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

import datasets
import lightning as L
import numpy as np
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader

# Batches per sorted group of training examples (the Trainer's `group_by_length` takes at most 50).
MEGA_BATCH_FACTOR = 50


class LengthGroupedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices whose lengths are close.

    Args:
        lengths: token count of each example.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (training) or keep a fixed longest-first order (evaluation).
        seed: base seed; the epoch is added so every epoch differs but runs are reproducible.
        mega_batch_factor: batches per sorted group; larger groups pad less but shuffle less; 1 gives
            random batches.
        num_replicas, rank: the DDP world size and this process's rank.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        mega_batch_factor: int = MEGA_BATCH_FACTOR,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.mega = batch_size * mega_batch_factor
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip_batches(self, count: int) -> None:
        """Leave out the first `count` batches of the next pass (resuming an interrupted epoch)."""
        self._skip = count

    def _all_batches(self) -> list[np.ndarray]:
        if not self.shuffle:
            # Evaluation: each rank takes every n-th example (longest first), so every rank gets
            # batches even when the dev set fits in one, and no example is scored twice.
            order = np.argsort(-self.lengths, kind="stable")[self.rank :: self.num_replicas]
            return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(order), self.mega):
            group = order[start : start + self.mega]
            group = group[np.argsort(-self.lengths[group], kind="stable")]
            batches += [group[i : i + self.batch_size] for i in range(0, len(group), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        if self.num_replicas > 1 and self.shuffle:
            # Every rank must run the same number of training steps: repeat the first batches.
            per_rank = math.ceil(len(batches) / self.num_replicas)
            batches = (batches * 2)[: per_rank * self.num_replicas][self.rank :: self.num_replicas]
        skip, self._skip = self._skip, 0
        for batch in batches[skip:]:
            yield batch.tolist()

    def __len__(self) -> int:
        if self.shuffle:
            return math.ceil(math.ceil(len(self.lengths) / self.batch_size) / self.num_replicas)
        return math.ceil(len(range(self.rank, len(self.lengths), self.num_replicas)) / self.batch_size)


def batch_loader(
    dataset: datasets.Dataset,
    batch_size: int,
    shuffle: bool,
    seed: int,
    collate_fn: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    num_workers: int,
    length_grouped: bool,
    trainer: L.Trainer | None,
) -> DataLoader:
    """A loader of `dataset` (featurized, with its `length` column) in `LengthGroupedBatchSampler`
    batches: training batches of similar lengths, or random ones with `length_grouped` False (a sorted
    group of one batch is a random batch: the Trainer's default order); the trainer's DDP shard."""
    sampler = LengthGroupedBatchSampler(
        dataset.with_format("numpy", columns=["length"])[:]["length"],  # one Arrow read, no Python list
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        mega_batch_factor=MEGA_BATCH_FACTOR if length_grouped else 1,
        num_replicas=trainer.world_size if trainer else 1,
        rank=trainer.global_rank if trainer else 0,
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        # Page-locked batches let the copy to the GPU overlap compute (Lightning copies non-blocking).
        pin_memory=trainer is not None and isinstance(trainer.accelerator, CUDAAccelerator),
        # Its own generator: creating a loader iterator then draws no number from the global RNG,
        # so dropout masks do not depend on how often loaders were started (exact resumes).
        generator=torch.Generator().manual_seed(seed),
    )


class PaddingCollator:
    """Pads the sequence columns of a list of examples to the batch's longest and stacks the rest.

    The sampler-only `length` column, text columns and the `skip` columns (e.g. what a metric reads
    from the dataset by `idx`) are left out of the batch.
    """

    def __init__(self, pad_values: dict[str, int], pad_token_id: int, skip: Sequence[str] = ()) -> None:
        self.pad_values = {k: (pad_token_id if v == -1 else v) for k, v in pad_values.items()}
        # `length` is read by the sampler from the dataset, not by models.
        self.skip_columns = ("length", *skip)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for key, first in examples[0].items():
            if key in self.skip_columns:
                continue
            if isinstance(first, str) or (isinstance(first, list) and first and isinstance(first[0], str)):
                continue  # text kept for metrics or reports, not a model input
            values = [example[key] for example in examples]
            if key in self.pad_values:
                batch[key] = pad_rows(values, self.pad_values[key])
            else:
                batch[key] = _stack(values)
        return batch


def pad_rows(rows: list[Any], value: int) -> torch.Tensor:
    """Pad sequences to the longest: `[B, T]` for rows of numbers (filled in one numpy operation rather
    than one tensor per example), `[B, T, ...]` for rows of fixed-size items."""
    lengths = [len(row) for row in rows]
    first = next((row[0] for row in rows if len(row)), None)
    dtype = _DTYPES.get(type(first))
    if dtype is None:  # rows of vectors (e.g. span pairs) or of tensors: pad item by item
        return torch.nn.utils.rnn.pad_sequence(
            [torch.as_tensor(row) for row in rows], batch_first=True, padding_value=value
        )
    flat = np.fromiter(chain.from_iterable(rows), dtype=dtype, count=sum(lengths))
    out = np.full((len(rows), max(lengths)), value, dtype=dtype)
    out[np.arange(out.shape[1]) < np.asarray(lengths)[:, None]] = flat  # row-major, the order of `flat`
    return torch.from_numpy(out)


# The dtypes torch.as_tensor gives Python numbers.
_DTYPES: dict[type, type] = {int: np.int64, float: np.float32, bool: np.bool_}


def _stack(values: list[Any]) -> torch.Tensor:
    """Scalars or equal-size lists -> one tensor, in one conversion where the values allow it."""
    try:
        return torch.as_tensor(values)
    except (ValueError, TypeError):  # tensors or ragged nesting: convert one by one
        return torch.stack([torch.as_tensor(v) for v in values])
