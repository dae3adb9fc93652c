"""Encoders beyond RoBERTa, untrained (training on them: tests/integration/test_architectures.py): their
tokenizers' special tokens, segment ids and offsets go through every featurizer correctly, attention
masks make padding inert, and the shipped architecture configs are the published ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stilts.config import CONF_DIR
from stilts.errors import ConfigError
from stilts.models.encoder import build_encoder, load_tokenizer
from stilts.models.sources import resolve_source
from stilts.tasks.metrics_spans import SpanQAScore
from tests.helpers import compose_cfg, fixture_datamodule, model_node

NEW_MODELS = ("tiny_deberta", "tiny_modernbert")
ALL_TINY = ("tiny", *NEW_MODELS)


pytestmark = pytest.mark.usefixtures("one_thread")


# ----- tokenizers through the featurizers ---------------------------------------------------------
def test_special_tokens_and_segments_follow_each_architecture() -> None:
    layouts = {
        "tiny": ("<s>", "</s>", False),
        "tiny_deberta": ("[CLS]", "[SEP]", True),
        "tiny_modernbert": ("[CLS]", "[SEP]", False),
    }
    for model, (cls, sep, segments) in layouts.items():
        tokenizer = load_tokenizer(model_node(model))
        encoded = tokenizer("The cat sat.", "A dog ran.")
        tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
        assert tokens[0] == cls and tokens[-1] == sep, model
        assert "[UNK]" not in tokens and "<unk>" not in tokens  # punctuation is in every vocabulary
        if segments:  # DeBERTa-v3: 0 up to the first [SEP], 1 after it
            first_sep = tokens.index(sep)
            assert encoded["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
        else:  # RoBERTa's are all 0 (one type); ModernBERT takes none
            assert "token_type_ids" not in encoded or set(encoded["token_type_ids"]) == {0}
    modernbert = load_tokenizer(model_node("tiny_modernbert"))
    assert "token_type_ids" not in modernbert("a", "b")


@pytest.mark.parametrize("model", ALL_TINY)
def test_span_pairs_project_onto_their_characters(tmp_path, model: str) -> None:
    for task in ("wsc", "wic"):
        dm = fixture_datamodule(tmp_path, task, model)
        if task == "wic":  # the offsets rule; WiC's default, jiant's marking: tests/unit/test_fidelity_wic.py
            dm.featurizer.marking = "offsets"
        raw = dm.read_split("val")
        features = dm.featurizer.encode(raw[:], dm.tokenizer, 128)
        second = list(raw["text_b"]) if task == "wic" else None
        encoded = dm.tokenizer(list(raw["text_a"]), second, return_offsets_mapping=True)
        for k in (1, 2):
            for i, row in enumerate(raw):
                text = [row["text_a"], row["text_b"]][row[f"span{k}_segment"]]
                offsets = encoded["offset_mapping"][i]
                start, end = features[f"span{k}_start"][i], features[f"span{k}_end"][i]
                covered = text[offsets[start][0] : offsets[end - 1][1]]
                # DeBERTa's and ModernBERT's pieces carry the space before a word in their offsets.
                assert covered.strip() == text[row[f"span{k}_char_start"] : row[f"span{k}_char_end"]]


@pytest.mark.parametrize("model", ALL_TINY)
def test_edge_probing_tagging_and_qa_spans_cover_their_words(tmp_path, model: str) -> None:
    dm = fixture_datamodule(tmp_path, "ep_srl", model)
    for row in dm.featurized("val"):
        text_row = dm.read_split("val")[row["idx"]]
        words = text_row["text"].split()
        offsets = dm.tokenizer(text_row["text"], return_offsets_mapping=True)["offset_mapping"]
        for (start, end), (w0, w1) in zip(row["span1"], text_row["span1"], strict=False):
            covered = text_row["text"][offsets[start][0] : offsets[end - 1][1]]
            assert covered.strip() == " ".join(words[w0:w1])
    ccg = fixture_datamodule(tmp_path, "ccg", model)
    for row, rec in zip(ccg.featurized("train"), ccg.read_split("train"), strict=True):
        assert [t for t in row["tag_labels"] if t != -100] == rec["tags"]  # one label per word
    qa = fixture_datamodule(tmp_path, "qamr", model)
    score = SpanQAScore("em")
    rows = qa.featurized("train")
    score.bind_references(rows)
    records = {rec["idx"]: rec for rec in qa.read_split("train")}
    for row in rows:
        rec = records[row["idx"]]
        words = rec["context"].split()
        # Gold spans decode to the answer's words, except that jiant's clip of the end to the last
        # passage sub-token (jiant/models.py:993-996) never outputs the passage's last word.
        expected = " ".join(words[rec["answer_start"] : min(rec["answer_end"], len(words) - 1)])
        assert score.answer_text(row["idx"], row["start_positions"], row["end_positions"]) == expected
    assert len(rows) > 0  # (the last-word case is hand-worked in test_fidelity_heads)


def test_batches_carry_the_inputs_each_encoder_takes(tmp_path) -> None:
    deberta = fixture_datamodule(tmp_path / "d", "rte", "tiny_deberta")
    batch = next(iter(deberta.train_dataloader()))
    assert batch["token_type_ids"].max() == 1  # the second segment is marked
    modernbert = fixture_datamodule(tmp_path / "m", "rte", "tiny_modernbert")
    batch = next(iter(modernbert.train_dataloader()))
    assert "token_type_ids" not in batch and "attention_mask" in batch


@pytest.mark.parametrize("model", ALL_TINY)
def test_padding_changes_no_real_token_state(model: str) -> None:
    """The attention mask reaches the encoder: a sequence's states are the same alone and padded in a
    batch beside a longer one (ModernBERT's sliding-window layers and DeBERTa's relative attention too)."""
    tokenizer = load_tokenizer(model_node(model))
    torch.manual_seed(0)
    encoder = build_encoder(model_node(model), dropout=0.1).eval()
    short = "The cat sat on the mat."
    long = " ".join(["A dog ran home across the river and the town."] * 4)
    alone = tokenizer([short], return_tensors="pt")
    padded = tokenizer([short, long], return_tensors="pt", padding=True)
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]  # really padded
    with torch.no_grad():
        reference = encoder(**alone).last_hidden_state[0]
        batched = encoder(**padded).last_hidden_state[0, : reference.shape[0]]
    torch.testing.assert_close(batched, reference, atol=1e-5, rtol=1e-4)


# ----- shipped architectures ---------------------------------------------------------------------
# Parameter counts published on the model cards / papers (with RoBERTa's pooler, as released).
PUBLISHED_PARAMETERS = {
    "roberta_base": 125e6,
    "roberta_large": 355e6,
    "deberta_v3_large": 435e6,  # 304M backbone + 131M embedding (128k vocabulary)
    "modernbert_large": 395e6,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETERS))
def test_shipped_architecture_has_the_published_size(name: str) -> None:
    from transformers import AutoConfig, AutoModel

    from stilts.config import asset_path

    config = AutoConfig.from_pretrained(asset_path(name))
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = AutoModel.from_config(config)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - PUBLISHED_PARAMETERS[name]) / PUBLISHED_PARAMETERS[name] < 0.01


def test_random_init_of_a_real_architecture_needs_no_hub() -> None:
    cfg = compose_cfg(["model=roberta_base", "model.random_init=true", "model.tokenizer=tiny_roberta"])
    encoder = build_encoder(cfg.model, dropout=0.1)
    assert (encoder.config.hidden_size, encoder.config.num_hidden_layers) == (768, 12)
    tokenizer = load_tokenizer(cfg.model)
    assert tokenizer.pad_token_id == encoder.config.pad_token_id  # RoBERTa's positions skip the pad id
    with torch.no_grad():
        out = encoder(**tokenizer(["A short test."], return_tensors="pt")).last_hidden_state
    assert out.shape[-1] == 768


def test_unreachable_sources_name_their_key() -> None:
    cfg = compose_cfg(["model=roberta_large", "model.architecture=/nonexistent/arch"])
    cfg.model.random_init = True
    with pytest.raises(ConfigError, match="model.architecture"):
        build_encoder(cfg.model, dropout=0.1)
    cfg = compose_cfg(["model=roberta_large", "model.tokenizer=/nonexistent/tokenizer"])
    with pytest.raises(ConfigError, match="model.tokenizer"):
        load_tokenizer(cfg.model)
    cfg = compose_cfg(["model=tiny_deberta", "model.attn_implementation=sdpa"])  # DeBERTa has none
    with pytest.raises(ConfigError, match="model.attn_implementation"):
        build_encoder(cfg.model, dropout=0.1)


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml")))
def test_every_model_config_names_its_parts(name: str) -> None:
    node = model_node(name)
    assert node.name == name and node.attn_implementation in ("sdpa", "eager")
    assert {"pretrained", "tokenizer", "architecture", "random_init"} <= set(node)
    if node.architecture:  # a shipped architecture: random-init runs need no Hub
        assert (Path(resolve_source(node.architecture)) / "config.json").is_file()
