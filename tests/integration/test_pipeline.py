"""The two-stage cell: intermediate encoder cached and reused, results written, W&B offline."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from stilts import stage as stage_module
from tests.helpers import run_tiny_cell


def count_stage_trainings(monkeypatch) -> list[str]:
    """Record the role of every stage that trains."""
    calls: list[str] = []
    original = stage_module.train_stage

    def counting(cell, stage, *args, **kwargs):
        calls.append(f"{stage.role}:{stage.spec.name}")
        return original(cell, stage, *args, **kwargs)

    monkeypatch.setattr("stilts.pipeline.train_stage", counting)
    return calls


def test_two_stage_cell_then_cache_hit_without_retraining(tmp_path, monkeypatch) -> None:
    calls = count_stage_trainings(monkeypatch)
    first = run_tiny_cell(tmp_path, ["task@intermediate=rte", "task@target=cb"], run_name="a")
    assert calls == ["intermediate:rte", "target:cb"]
    source = first["encoder_source"]
    assert source["kind"] == "intermediate" and source["trained_now"] is True
    # CB's paper score is macro-F1 over its three classes.
    assert first["main_metric"] == ["f1_macro"]
    assert first["main"] == pytest.approx(first["metrics"]["f1_macro"])

    second = run_tiny_cell(tmp_path, ["task@intermediate=rte", "task@target=boolq"], run_name="b")
    assert calls == ["intermediate:rte", "target:cb", "target:boolq"]  # RTE was not trained again
    assert second["encoder_source"]["cache_key"] == source["cache_key"]
    assert second["encoder_source"]["trained_now"] is False
    assert not (tmp_path / "b" / "intermediate").exists()

    entry = tmp_path / "cache" / "intermediate" / source["cache_key"]
    weights = load_file(str(entry / "encoder.safetensors"))
    assert weights and all(not k.startswith("head") for k in weights)  # encoder only
    assert json.loads((entry / "meta.json").read_text())["material"]["task"]["name"] == "rte"
    assert not list((tmp_path / "cache" / "intermediate").glob(".*tmp-*"))


def test_result_and_predictions_are_written(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@target=rte"])
    run = tmp_path / "run"
    on_disk = json.loads((run / "result.json").read_text())
    assert on_disk == result
    for key in (
        "intermediate",
        "task",
        "role",
        "seed",
        "hparams",
        "metrics",
        "main",
        "steps",
        "epochs",
        "wall_time_s",
        "encoder_source",
        "degenerate",
        "stilts_version",
    ):
        assert key in result
    assert result["intermediate"] == "none" and result["encoder_source"]["kind"] == "pretrained"
    assert result["seed"] == 1111002  # the paper's first target seed
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert [r["idx"] for r in rows] == list(range(result["val_examples"]))
    accuracy = sum(r["preds"] == r["target"] for r in rows) / len(rows)
    assert accuracy == pytest.approx(result["metrics"]["acc"])
    assert not (run / "target" / "checkpoints").exists()  # removed once the result is written


def test_last_checkpoint_is_the_newest_state_and_never_a_second_copy_of_the_best(tmp_path) -> None:
    # Four validations (every 2 of 8 steps): last.ckpt must hold the state of the newest one (step 8),
    # as a link to best.ckpt when that validation improved, as a file of its own otherwise.
    overrides = [
        "task@target=rte",
        "++target.val_interval=2",
        "+trainer.max_steps=8",
        "keep_checkpoints=true",
    ]
    assert run_tiny_cell(tmp_path, overrides)["steps"] == 8
    folder = tmp_path / "run" / "target" / "checkpoints"
    last, best = folder / "last.ckpt", folder / "best.ckpt"
    step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    best_step = torch.load(best, map_location="cpu", weights_only=True)["global_step"]
    assert step == 8
    if best_step == 8:
        assert last.is_symlink() and last.resolve() == best.resolve()
    else:
        assert not last.is_symlink() and best_step < 8
    assert sorted(p.name for p in folder.iterdir() if not p.is_symlink()) == sorted(
        {"best.ckpt", last.resolve().name}
    )


def test_seed_and_restart_select_the_paper_seeds(tmp_path) -> None:
    result = run_tiny_cell(tmp_path, ["task@target=aj_cola", "restart=2", "+trainer.max_steps=1"])
    assert result["role"] == "probing" and result["seed"] == 923 and result["restart"] == 2


def test_same_seed_gives_same_result(tmp_path) -> None:
    first = run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=6"], run_name="a")
    second = run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=6"], run_name="b")
    assert first["metrics"] == second["metrics"]


def test_wandb_logger_offline(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    result = run_tiny_cell(tmp_path, ["task@intermediate=rte", "task@target=cb", "logger=wandb"])
    run = tmp_path / "run"
    assert list((run / "intermediate" / "wandb").glob("offline-run-*"))
    assert list((run / "target" / "wandb").glob("offline-run-*"))
    assert result["wandb_run"] and result["encoder_source"]["intermediate_wandb_run"]
    assert result["wandb_run"] != result["encoder_source"]["intermediate_wandb_run"]
