"""Issue 13 rules #7 (truncation per text segment) and #8 (mid-training dev subset), observed on
featurized examples and on the rows mid-training validation sees."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from stilts.cell import resolve_cell
from stilts.errors import ConfigError
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.featurizers import ClassificationFeaturizer
from stilts.tasks.spec import TaskSpec
from stilts.tasks.superglue import SpanPairFeaturizer
from tests.helpers import FIXTURES, compose_cfg

PAPER_LENGTH = 256  # jiant base_roberta.conf max_seq_len


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(compose_cfg(["model=tiny"]).model)  # RoBERTa-style: <s> a </s></s> b </s>


def long_text(word: str, tokens: int, tokenizer) -> str:
    """A text of at least `tokens` tokens."""
    text = " ".join(f"{word}{i}" for i in range(tokens))
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= tokens
    return text


def segment_sizes(ids: list[int], tokenizer) -> list[int]:
    """Text tokens between the boundary tokens of a RoBERTa sequence."""
    special = {tokenizer.cls_token_id, tokenizer.sep_token_id}
    sizes, current = [], 0
    for token in ids[1:]:
        if token in special:
            if current:
                sizes.append(current)
            current = 0
        else:
            current += 1
    return sizes


def classify(tokenizer, mode: str, first: str, second: str | None) -> list[int]:
    featurizer = ClassificationFeaturizer(pair=second is not None)
    featurizer.set_truncation(mode)
    batch = {"text_a": [first], "text_b": [second or ""]}
    return featurizer.encode(batch, tokenizer, PAPER_LENGTH)["input_ids"][0]


# ----- #7 truncation --------------------------------------------------------------------------
def test_segment_mode_keeps_254_tokens_of_each_segment_and_pair_mode_256_in_all(tokenizer) -> None:
    a, b = long_text("alpha", 400, tokenizer), long_text("beta", 400, tokenizer)
    segment = classify(tokenizer, "segment", a, b)
    assert segment_sizes(segment, tokenizer) == [254, 254]
    assert len(segment) == 254 + 254 + 4
    # The kept tokens are each segment's first 254 (jiant: tokens[:max_seq_len - 2]).
    assert segment[1:255] == tokenizer(a, add_special_tokens=False)["input_ids"][:254]
    pair = classify(tokenizer, "pair", a, b)
    assert len(pair) == PAPER_LENGTH


@pytest.mark.parametrize("mode", ["segment", "pair"])
def test_a_single_segment_holds_256_tokens_in_both_modes(tokenizer, mode: str) -> None:
    ids = classify(tokenizer, mode, long_text("gamma", 400, tokenizer), None)
    assert len(ids) == PAPER_LENGTH and segment_sizes(ids, tokenizer) == [254]


def test_a_short_pair_is_the_same_in_both_modes(tokenizer) -> None:
    a, b = "The boss fired three workers.", "They sat around the fire."
    assert classify(tokenizer, "segment", a, b) == classify(tokenizer, "pair", a, b)


def test_segment_mode_fits_a_pair_into_fewer_positions_longest_first(tokenizer) -> None:
    small = load_tokenizer(compose_cfg(["model=tiny"]).model)
    small._stilts_positions = 300  # an encoder with 300 usable positions
    a, b = long_text("alpha", 400, small), " ".join(f"beta{i}" for i in range(15))
    b_tokens = len(small(b, add_special_tokens=False)["input_ids"])
    assert b_tokens < 100
    ids = classify(small, "segment", a, b)
    assert len(ids) == 300
    # The longer first segment gave up the tokens; the short second one is whole.
    assert segment_sizes(ids, small) == [296 - b_tokens, b_tokens]


def test_marked_spans_point_at_their_words_after_segment_truncation(tokenizer) -> None:
    """A span in the second segment, past the first 256 tokens of the pair: pair mode would cut it,
    segment mode keeps it and points at it."""
    a = long_text("alpha", 400, tokenizer)
    b = long_text("beta", 60, tokenizer) + " fireworks lit the sky"
    start = b.index("fireworks")
    batch = {
        "text_a": [a],
        "text_b": [b],
        "span1_segment": [0],
        "span1_char_start": [a.index("alpha7 ")],
        "span1_char_end": [a.index("alpha7 ") + len("alpha7")],
        "span2_segment": [1],
        "span2_char_start": [start],
        "span2_char_end": [start + len("fireworks")],
    }
    featurizer = SpanPairFeaturizer(pair=True, num_spans=2)
    featurizer.set_truncation("segment")
    out = featurizer.encode(batch, tokenizer, PAPER_LENGTH)
    ids = out["input_ids"][0]
    assert tokenizer.decode(ids[out["span1_start"][0] : out["span1_end"][0]]).strip() == "alpha7"
    assert tokenizer.decode(ids[out["span2_start"][0] : out["span2_end"][0]]).strip() == "fireworks"
    featurizer.set_truncation("pair")
    assert featurizer._encode(batch, tokenizer, PAPER_LENGTH)[1] == [1]  # pair mode loses span 2


def test_a_bad_truncation_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"`model\.truncation`.*segment, pair"):
        resolve_cell(compose_cfg(["model.truncation=longest"]))


def test_the_paper_default_is_segment() -> None:
    assert compose_cfg([]).model.truncation == "segment"


# ----- #8 mid-training dev subset -------------------------------------------------------------
def datamodule(tmp_path: Path, task: str, data_dir: Path, limit: int) -> TaskDataModule:
    cfg = compose_cfg([f"task@target={task}", "model=tiny", f"target.val_limit={limit}"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return TaskDataModule(spec, load_tokenizer(cfg.model), data_dir, tmp_path / "cache", source="local")


def record_passage(idx: int, names: list[str], order: list[int], queries: int) -> dict:
    """A ReCoRD passage naming `names` (a name may repeat), its entities listed in `order`."""
    text, spans = "", []
    for name in names:
        spans.append({"start": len(text), "end": len(text) + len(name) - 1})
        text += name + " met. "
    qas = [
        {"idx": f"q{idx}-{k}", "query": f"@placeholder won {k}.", "answers": [{"text": names[0]}]}
        for k in range(queries)
    ]
    return {"idx": idx, "passage": {"text": text, "entities": [spans[i] for i in order]}, "qas": qas}


def test_record_mid_training_validation_takes_jiants_first_query_mention_pairs(tmp_path) -> None:
    passages = [
        record_passage(0, ["Ann", "Bob", "Ann", "Cid"], [3, 0, 1, 2], queries=2),  # a repeated mention
        record_passage(1, ["Dee", "Eve", "Fay"], [2, 1, 0], queries=1),
        record_passage(2, ["Gus", "Hal"], [0, 1], queries=1),
    ]
    folder = tmp_path / "data" / "record"
    folder.mkdir(parents=True)
    for split in ("train", "val"):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(p) + "\n" for p in passages))
    # Independently: jiant's instances, one per (query, entity mention) in file order.
    instances = []
    for passage in passages:
        text = passage["passage"]["text"]
        for qa in passage["qas"]:
            for e in passage["passage"]["entities"]:
                instances.append((qa["idx"], text[e["start"] : e["end"] + 1]))
    limit = 10  # 4 + 4 mentions of the first passage's two queries, then 2 of passage 1's 3
    dm = datamodule(tmp_path, "record", tmp_path / "data", limit)
    val = dm.featurized("val")
    raw = dm.read_split("val")
    query_of = dict(zip(raw["idx"], raw["query_id"], strict=True))
    seen = val.select(dm.mid_training_rows())
    pairs = [(query_of[i], t) for i, t in zip(seen["idx"], seen["candidate_text"], strict=True)]
    assert sorted(pairs) == sorted(set(instances[:limit]))
    assert ("q1-0", "Fay") in pairs and ("q1-0", "Dee") not in pairs  # file order, not passage order
    dm.full_validation = True  # the final score: every (query, candidate) row
    assert dm.mid_training_rows() is None
    assert len(dm.val_dataloader().dataset) == len(val) == 3 + 3 + 3 + 2


def qasrl_instances(path: Path) -> list[tuple[str, str]]:
    """jiant's QA-SRL dev list (qa.py:525-554): per sentence, verb, question, valid judgment, span."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            words = obj["sentenceTokens"]
            for verb in obj["verbEntries"].values():
                for judgments in verb["questionLabels"].values():
                    for judgment in judgments["answerJudgments"]:
                        if judgment["isValid"]:
                            for start, end in judgment["spans"]:
                                out.append((" ".join(words), " ".join(words[start:end])))
    return out


def test_qasrl_mid_training_validation_sees_jiants_shuffled_first_instances(tmp_path) -> None:
    instances = qasrl_instances(FIXTURES / "qasrl" / "orig" / "dev.jsonl.gz")
    limit = 3
    assert len(instances) > limit
    random.Random(1234).shuffle(instances)  # jiant qa.py:555-556
    dm = datamodule(tmp_path, "qasrl", FIXTURES, limit)
    seen = dm.val_dataloader().dataset
    assert list(zip(seen["context"], seen["answer"], strict=True)) == instances[:limit]
    dm.full_validation = True
    assert len(dm.val_dataloader().dataset) == len(instances)
