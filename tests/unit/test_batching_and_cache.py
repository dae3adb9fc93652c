"""Length-grouped batching, padding, and the encoder cache in one process. (Concurrent processes:
tests/integration/test_batching_and_cache.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from stilts.cache import EncoderCache
from stilts.tasks.batching import LengthGroupedBatchSampler, PaddingCollator


def test_sampler_covers_every_example_once_in_grouped_batches() -> None:
    lengths = [(i * 37) % 100 + 1 for i in range(1000)]
    sampler = LengthGroupedBatchSampler(lengths, batch_size=8, shuffle=True, seed=3, mega_batch_factor=10)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler)
    computed = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert sum(lengths) / computed > 0.9  # little padding
    sampler.set_epoch(1)
    assert list(sampler) != batches  # reshuffled every epoch
    sampler.set_epoch(0)
    assert list(sampler) == batches  # reproducible


def test_sampler_with_groups_of_one_batch_draws_random_batches() -> None:
    # `data.length_grouped: false`: batches as random as the Trainer's, not sorted by length.
    lengths = list(range(1, 1601))
    spread = {}
    for factor in (50, 1):
        batches = list(LengthGroupedBatchSampler(lengths, 16, True, seed=0, mega_batch_factor=factor))
        assert sorted(i for b in batches for i in b) == list(range(1600))
        spread[factor] = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / 100
    # Sixteen uniform draws from 1..1600 span about 15/17 of the range; a sorted group of 800, ~15 x 2.
    assert spread[50] < 60 and spread[1] > 1200


def test_sampler_shards_evenly_across_ranks() -> None:
    lengths = list(range(1, 102))
    shards = [list(LengthGroupedBatchSampler(lengths, 4, True, 0, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 13
    assert {i for shard in shards for b in shard for i in b} == set(range(101))


def test_collator_pads_to_the_longest_in_batch() -> None:
    collate = PaddingCollator({"input_ids": -1, "attention_mask": 0}, pad_token_id=1)
    batch = collate(
        [
            {"input_ids": [0, 5, 2], "attention_mask": [1, 1, 1], "label": 1, "text": "kept out"},
            {"input_ids": [0, 2], "attention_mask": [1, 1], "label": 0, "text": "kept out"},
        ]
    )
    assert batch["input_ids"].tolist() == [[0, 5, 2], [0, 2, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["label"].tolist() == [1, 0] and "text" not in batch


def test_a_crash_publishes_nothing(tmp_path) -> None:
    cache = EncoderCache(tmp_path)

    def crash(folder: Path) -> dict:
        (folder / "encoder.safetensors").write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.get_or_train({"task": "rte"}, crash)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
