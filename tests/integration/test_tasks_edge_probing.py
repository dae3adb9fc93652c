"""Edge probing in a cell: an epoch encodes each sentence once for all its targets."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.helpers import FIXTURES, run_tiny_cell


def ep_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ----- one encoder pass per sentence -------------------------------------------------------------
def test_an_epoch_encodes_each_sentence_once_for_all_its_targets(tmp_path, monkeypatch) -> None:
    import stilts.stage

    records = ep_lines(FIXTURES / "ep_srl" / "train.edges.json")
    sentences = sum(1 for r in records if r["targets"])  # sentences without targets are skipped
    targets = sum(len(r["targets"]) for r in records)
    assert targets > sentences  # otherwise the test could not tell the two apart
    batch_size = 4
    batches = math.ceil(sentences / batch_size)

    calls: list[int] = []
    build = stilts.stage.build_encoder

    def counting_encoder(*args, **kwargs):
        encoder = build(*args, **kwargs)
        encoder.register_forward_hook(
            lambda module, args, kwargs, out: (
                calls.append(kwargs["input_ids"].shape[0]) if module.training else None
            ),
            with_kwargs=True,
        )
        return encoder

    monkeypatch.setattr(stilts.stage, "build_encoder", counting_encoder)
    result = run_tiny_cell(
        tmp_path, ["task@target=ep_srl", f"target.batch_size={batch_size}", f"+trainer.max_steps={batches}"]
    )
    assert result["epochs"] <= 1 and result["steps"] == batches
    assert len(calls) == batches  # one encoder forward per batch
    assert sum(calls) == sentences  # one encoded sequence per sentence, not per target
