"""Forgetting measures computed once per encoder and kept beside it.

An intermediate encoder's measures live in its cache entry, `<entry>/forgetting-<digest>.json`, where
the digest covers everything the measures depend on besides the encoder (text sample, masking,
pretrained reference, MLM head). They are computed under the entry's lock the first time a cell
needs them (for new and older entries alike), so cells sharing an encoder compute them once. The
pretrained reference is measured once per digest into `${paths.cache_dir}/forgetting/`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from omegaconf import DictConfig

from stilts.cell import Cell
from stilts.forgetting.measures import measure_encoder
from stilts.forgetting.readout import (
    MLMReadout,
    NoMLMHead,
    readout_from_masked_lm,
    readout_from_stilts_head,
)
from stilts.forgetting.sample import masked_batches, read_sample
from stilts.forgetting.settings import head_source, skip_reason
from stilts.identity import short_hash
from stilts.models.encoder import build_encoder
from stilts.runs import write_atomic
from stilts.tasks.featurizers import tokenizer_digest

log = logging.getLogger(__name__)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def compute_measures(
    model: DictConfig, forgetting: DictConfig, tokenizer: Any, weights: Path | None
) -> dict[str, Any]:
    """Measure the encoder of the `model` node with `weights` (None: the pretrained encoder itself)
    against the pretrained one, as the `forgetting` node says."""
    device = _device()
    reference = build_encoder(model, dropout=0.0).to(device)
    encoder = build_encoder(model, dropout=0.0, weights=weights).to(device) if weights else reference
    head = head_source(forgetting, model)
    readout: MLMReadout | None = None
    unavailable = "`forgetting.mlm_head` is null: no MLM head to read out with" if head is None else None
    if head == "hub":
        try:
            readout = readout_from_masked_lm(model)
        except NoMLMHead as err:  # never a random head in its place: the MLM loss is left out, saying why
            unavailable = str(err)
            log.warning("forgetting: %s", unavailable)
    elif head is not None:
        readout = readout_from_stilts_head(Path(head), reference.get_input_embeddings().weight)
    texts = read_sample(Path(forgetting.text), int(forgetting.max_sentences))
    batches = [
        {k: v.to(device) for k, v in batch.items()}
        for batch in masked_batches(texts, tokenizer, forgetting, int(model.max_length))
    ]
    record = measure_encoder(
        encoder, reference, readout.to(device) if readout else None, batches, int(forgetting.max_tokens)
    )
    record["sentences"] = len(texts)
    record["mlm_unavailable"] = unavailable  # why `mlm_loss` is None (None when it was measured)
    return record


def _once(path: Path, lock: Path, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The record at `path`, computed and written atomically under `lock` the first time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    with FileLock(str(lock)):
        if path.is_file():  # another job computed it while we waited
            return json.loads(path.read_text(encoding="utf-8"))
        record = compute()
        write_atomic(path, json.dumps(record, indent=2, sort_keys=True))
        log.info("forgetting measures written: %s", path)
    return record


def forgetting_record(cell: Cell, tokenizer: Any, entry: Path | None) -> dict[str, Any] | None:
    """The forgetting measures of a cell's encoder for its result: the cache entry's `entry` (an
    intermediate encoder) or, with None, the pretrained encoder. None when measuring is switched off;
    a `skipped` reason when it cannot be done."""
    model, forgetting = cell.model, cell.forgetting
    if not forgetting or not forgetting.get("enabled", False):
        return None
    reason = skip_reason(forgetting, model)
    if reason:
        log.warning("forgetting measures skipped: %s", reason)
        return {"skipped": reason}
    digest = short_hash(cell.identity.forgetting_key(tokenizer_digest(tokenizer)))
    root = Path(cell.paths.cache_dir) / "forgetting"
    pretrained = _once(
        root / f"pretrained-{digest}.json",
        root / "pretrained.lock",
        lambda: compute_measures(model, forgetting, tokenizer, None),
    )
    if entry is None:
        record = {**pretrained, "encoder": "pretrained"}
    else:
        weights = entry / "encoder.safetensors"
        measured = _once(
            entry / f"forgetting-{digest}.json",
            entry.parent / f"{entry.name}.lock",  # the cache entry's own lock (stilts.cache)
            lambda: compute_measures(model, forgetting, tokenizer, weights),
        )
        record = {**measured, "encoder": entry.name}
    return {
        **record,
        **summary(record, pretrained),
        "pretrained_mlm_loss": pretrained["mlm_loss"],
        "digest": digest,
    }


def summary(record: dict[str, Any], pretrained: dict[str, Any]) -> dict[str, Any]:
    """Scalar measures for tables and correlations: the MLM loss and its increase over the pretrained
    encoder's, the overall relative weight change, the last layer's CKA and the mean CKA over layers."""
    cka = list(record["cka"].values())
    loss, base = record.get("mlm_loss"), pretrained.get("mlm_loss")
    return {
        "mlm_loss_increase": loss - base if loss is not None and base is not None else None,
        "weight_change_all": record["weight_change"].get("all"),
        "cka_last": cka[-1] if cka else None,
        "cka_mean": sum(cka) / len(cka) if cka else None,
    }
