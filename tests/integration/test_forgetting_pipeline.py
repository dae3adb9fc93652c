"""Forgetting measures in the pipeline: once per encoder, stored in the cache entry, copied into results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import FIXTURES, run_tiny_cell


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """A 'pretrained' tiny encoder: two MLM steps with save_encoder=true (writes encoder + MLM head)."""
    tmp = tmp_path_factory.mktemp("mlm")
    run_tiny_cell(tmp, ["task@target=mlm", "save_encoder=true", "+trainer.max_steps=2"], run_name="mlm")
    return tmp / "mlm"


def test_mlm_cell_keeps_its_head_beside_its_encoder(pretrained) -> None:
    head = load_file(str(pretrained / "mlm_head.safetensors"))
    assert sorted(head) == ["bias", "dense.bias", "dense.weight", "norm.bias", "norm.weight"]
    assert (pretrained / "encoder.safetensors").is_file()


def test_measures_are_computed_once_per_encoder_and_copied_into_results(
    tmp_path, monkeypatch, pretrained
) -> None:
    from stilts.forgetting import store

    calls: list[str | None] = []
    original = store.compute_measures

    def counting(model, forgetting, tokenizer, weights):
        calls.append(None if weights is None else Path(weights).parent.name)
        return original(model, forgetting, tokenizer, weights)

    monkeypatch.setattr(store, "compute_measures", counting)
    common = [
        f"model.encoder_weights={pretrained / 'encoder.safetensors'}",
        f"forgetting.text={FIXTURES / 'mlm' / 'val.txt'}",
        "+trainer.max_steps=2",
    ]
    first = run_tiny_cell(tmp_path, ["task@intermediate=rte", "task@target=cb", *common], run_name="a")
    key = first["encoder_source"]["cache_key"]
    assert calls == [None, key]  # the pretrained reference, then the intermediate encoder
    second = run_tiny_cell(tmp_path, ["task@intermediate=rte", "task@target=boolq", *common], run_name="b")
    baseline = run_tiny_cell(tmp_path, ["task@target=cb", *common], run_name="c")
    assert calls == [None, key]  # nothing measured again: both came from their stored records

    measures = first["forgetting"]
    assert second["forgetting"] == measures
    assert json.loads((tmp_path / "a" / "result.json").read_text())["forgetting"] == measures
    stored = tmp_path / "cache" / "intermediate" / key / f"forgetting-{measures['digest']}.json"
    assert json.loads(stored.read_text())["mlm_loss"] == measures["mlm_loss"]
    assert measures["encoder"] == key and measures["masked_tokens"] > 0
    assert set(measures["weight_change"]) == {"embeddings", "layer_1", "layer_2", "all"}
    assert set(measures["cka"]) == {"embeddings", "layer_1", "layer_2"}
    assert measures["weight_change"]["all"] > 0  # two intermediate steps moved the weights
    # The pretrained encoder measured against itself: no change, CKA 1.
    reference = baseline["forgetting"]
    assert reference["encoder"] == "pretrained"
    assert set(reference["weight_change"].values()) == {0.0}
    assert all(value == pytest.approx(1.0) for value in reference["cka"].values())
    assert measures["pretrained_mlm_loss"] == reference["mlm_loss"]
    assert measures["mlm_loss_increase"] == pytest.approx(measures["mlm_loss"] - reference["mlm_loss"])


def test_measures_are_skipped_with_a_reason_without_a_pretrained_encoder(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@target=cb", "+trainer.max_steps=1"])
    assert "model.random_init" in result["forgetting"]["skipped"]


def test_ewc_estimates_its_fisher_with_the_pretrained_mlm_head(tmp_path, monkeypatch, pretrained) -> None:
    from stilts.controls import ewc

    fishers: list[dict] = []
    original = ewc.estimate_fisher

    def keeping(*args, **kwargs):
        fishers.append(original(*args, **kwargs))
        return fishers[-1]

    monkeypatch.setattr(ewc, "estimate_fisher", keeping)
    overrides = [
        f"model.encoder_weights={pretrained / 'encoder.safetensors'}",
        "forgetting.enabled=false",
        "task@intermediate=rte",
        "task@target=cb",
        "control=ewc",
        "+trainer.max_steps=1",
    ]
    result = run_tiny_cell(tmp_path, overrides)
    assert result["control"] == "ewc" and "forgetting" not in result
    (fisher,) = fishers
    values = torch.cat([value.flatten() for value in fisher.values()])
    assert values.mean().item() == pytest.approx(1.0) and (values >= 0).all()
    assert "embeddings.word_embeddings.weight" in fisher
