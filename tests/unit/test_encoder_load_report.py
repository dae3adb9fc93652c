"""What stilts says when a checkpoint and the encoder differ: the pooler left out on purpose and the
heads of a pre-training checkpoint are INFO lines (not transformers' load-report table), weights the
checkpoint lacks are a warning by name, a report with size mismatches is left to transformers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from transformers import BertConfig, BertForPreTraining, BertModel

from stilts.models.encoder import _replaced_report, build_encoder

CONFIG = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=32)  # fmt: skip
TRANSFORMERS_LOG = "transformers.modeling_utils"


@pytest.fixture
def records(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of stilts' encoder module and of transformers' loader (which does not propagate
    to the root logger, so it gets caplog's handler directly)."""
    loader = logging.getLogger(TRANSFORMERS_LOG)
    loader.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="stilts.models.encoder"):
            yield caplog  # its `records` are renewed for the test's call phase: read them there
    finally:
        loader.removeHandler(caplog.handler)


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


def _ours(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "stilts.models.encoder" and r.levelno == level
    ]


def _reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == TRANSFORMERS_LOG and "LOAD REPORT" in r.getMessage()
    ]


def test_a_left_out_pooler_is_one_info_line_not_a_report(tmp_path, records) -> None:
    BertModel(CONFIG, add_pooling_layer=True).save_pretrained(tmp_path)
    encoder = _load(tmp_path, add_pooling_layer=False)
    assert encoder.pooler is None
    assert _reports(records) == []
    assert len(_ours(records, logging.INFO)) == 1 and "pooler (2 tensors)" in _ours(records, logging.INFO)[0]
    assert _ours(records, logging.WARNING) == []
    assert _replaced_report not in logging.getLogger(TRANSFORMERS_LOG).filters  # removed after the load


def test_a_pretraining_checkpoints_heads_and_prefixed_pooler_are_info(tmp_path, records) -> None:
    # BERT/RoBERTa pre-training checkpoints prefix the encoder (`bert.`) and carry heads (`cls.`).
    BertForPreTraining(CONFIG).save_pretrained(tmp_path)
    _load(tmp_path, add_pooling_layer=False)
    assert _reports(records) == []
    info = _ours(records, logging.INFO)
    assert len(info) == 2
    assert "pooler (2 tensors)" in info[0]
    assert "checkpoint's heads are not part of BertModel" in info[1] and "cls." in info[1]
    assert _ours(records, logging.WARNING) == []


def test_weights_missing_from_the_checkpoint_are_a_warning_by_name(tmp_path, records) -> None:
    BertModel(CONFIG, add_pooling_layer=False).save_pretrained(tmp_path)
    _load(tmp_path, add_pooling_layer=True)
    warnings = _ours(records, logging.WARNING)
    assert len(warnings) == 1
    assert "2 weights are not in the checkpoint" in warnings[0]
    assert "pooler.dense.bias, pooler.dense.weight" in warnings[0]


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        ("BertModel LOAD REPORT from: x\nKey | Status\npooler.dense.bias | UNEXPECTED", False),
        ("BertModel LOAD REPORT from: x\nKey | Status\nembeddings.word_embeddings.weight | MISMATCH", True),
        ("BertModel LOAD REPORT from: x\nKey | Status\nencoder.layer.0 | CONVERSION", True),
        ("some other warning of the loader", True),
    ],
)
def test_only_reports_without_mismatch_or_conversion_errors_are_replaced(message: str, kept: bool) -> None:
    record = logging.LogRecord(TRANSFORMERS_LOG, logging.WARNING, __file__, 1, message, None, None)
    assert _replaced_report(record) is kept
