"""What stilts says when a checkpoint and the encoder differ: the pooler left out on purpose is one
INFO line (not transformers' load-report table), weights the checkpoint lacks are a warning by name."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import OmegaConf
from transformers import BertConfig, BertModel

from stilts.models.encoder import build_encoder


def _checkpoint(folder: Path, with_pooler: bool) -> Path:
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)  # fmt: skip
    BertModel(config, add_pooling_layer=with_pooler).save_pretrained(folder)
    return folder


def _load(folder: Path, add_pooling_layer: bool):
    node = OmegaConf.create(
        {
            "name": "t",
            "pretrained": str(folder),
            "dropout_placement": "head",
            "max_length": 16,
            "kwargs": {"add_pooling_layer": add_pooling_layer},
        }  # fmt: skip
    )
    return build_encoder(node, dropout=0.1)


def test_a_left_out_pooler_is_one_info_line_not_a_report(tmp_path, caplog, capfd) -> None:
    folder = _checkpoint(tmp_path / "with_pooler", with_pooler=True)
    with caplog.at_level(logging.INFO, logger="stilts.models.encoder"):
        encoder = _load(folder, add_pooling_layer=False)
    assert encoder.pooler is None
    assert "LOAD REPORT" not in capfd.readouterr().err
    notes = [r for r in caplog.records if r.name == "stilts.models.encoder"]
    assert [r.levelno for r in notes] == [logging.INFO]
    assert "pooler (2 tensors)" in notes[0].getMessage()


def test_weights_missing_from_the_checkpoint_are_a_warning_by_name(tmp_path, caplog) -> None:
    folder = _checkpoint(tmp_path / "no_pooler", with_pooler=False)
    with caplog.at_level(logging.INFO, logger="stilts.models.encoder"):
        _load(folder, add_pooling_layer=True)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "stilts.models.encoder" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1
    assert "2 weights are not in the checkpoint" in warnings[0]
    assert "pooler.dense.bias, pooler.dense.weight" in warnings[0]
