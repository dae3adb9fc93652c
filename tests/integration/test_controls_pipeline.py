"""Controls in cells: recorded, part of the intermediate cache key, and `none` changes nothing."""

from __future__ import annotations

import pytest
from omegaconf import open_dict

from stilts.cell import resolve_cell
from stilts.controls.mlm_mix import MLMMix
from stilts.errors import ConfigError
from stilts.identity import identity_material
from tests.helpers import compose_cfg, run_tiny_cell, tiny_overrides
from tests.integration.test_pipeline import count_stage_trainings

STEPS = "+trainer.max_steps=2"


def test_the_default_control_adds_nothing_to_the_keys(tmp_path) -> None:
    """`control=none` (the default) is no part of the cell's or the encoder's key material, and a config
    without the `control` node (older than controls) is refused by name, not read as some control."""
    overrides = [*tiny_overrides(tmp_path), "task@intermediate=rte", "task@target=cb", STEPS]
    with_default = compose_cfg(overrides)
    assert with_default.control.name == "none"
    assert identity_material(with_default).intermediate["control"] is None
    l2sp = identity_material(compose_cfg([*overrides, "control=l2sp"])).intermediate["control"]
    assert l2sp is not None and l2sp["name"] == "l2sp"
    without = compose_cfg(overrides)
    with open_dict(without):
        del without.control
    with pytest.raises(ConfigError, match="`control` is missing"):
        resolve_cell(without)


def test_a_control_gets_its_own_intermediate_encoder_and_the_same_control_reuses_it(
    tmp_path, monkeypatch
) -> None:
    calls = count_stage_trainings(monkeypatch)
    mlm_batches: list[int] = []
    original = MLMMix.batch_loss

    def counting(self, encoder, batch):
        mlm_batches.append(batch["input_ids"].shape[0])
        return original(self, encoder, batch)

    monkeypatch.setattr(MLMMix, "batch_loss", counting)
    base = ["task@intermediate=rte", STEPS]
    plain = run_tiny_cell(tmp_path, [*base, "task@target=cb"], run_name="plain")
    l2sp = run_tiny_cell(tmp_path, [*base, "control=l2sp", "task@target=cb"], run_name="l2sp")
    reused = run_tiny_cell(tmp_path, [*base, "control=l2sp", "task@target=boolq"], run_name="l2sp_boolq")
    # ratio 1/2 over two steps: one MLM batch, then one task batch.
    mixed = run_tiny_cell(
        tmp_path, [*base, "control=mlm_mix", "control.ratio=0.5", "task@target=cb"], run_name="mix"
    )
    assert calls == [
        "intermediate:rte",
        "target:cb",
        "intermediate:rte",  # l2sp: a new intermediate encoder
        "target:cb",
        "target:boolq",  # l2sp again: reused
        "intermediate:rte",  # mlm_mix: another one
        "target:cb",
    ]
    keys = [r["encoder_source"]["cache_key"] for r in (plain, l2sp, reused, mixed)]
    assert keys[1] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3
    assert [r["control"] for r in (plain, l2sp, reused, mixed)] == ["none", "l2sp", "l2sp", "mlm_mix"]
    assert l2sp["identity"]["name"].startswith("rte__l2sp__cb__")
    assert len(mlm_batches) == 1
    assert mixed["encoder_source"]["trained_now"] and not reused["encoder_source"]["trained_now"]
