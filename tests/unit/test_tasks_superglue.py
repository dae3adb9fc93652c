"""WSC, WiC, MultiRC and ReCoRD: readers on fixtures and real excerpts, span projection, metrics
against hand-worked examples, data facts, Hub canonicalisation, and bad input. (Transfer cells:
tests/integration/test_tasks_superglue.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import pytest
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryF1Score

from stilts.errors import DataFormatError
from stilts.models.choice_heads import CandidateScoringHead, MarkedSpanHead, mean_pool_span
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.metrics_superglue import GroupExactMatch, RecordScore
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata


def datamodule(
    tmp_path: Path,
    task: str,
    data_dir: Path = FIXTURES,
    source: str = "local",
    overrides: tuple[str, ...] = (),
) -> TaskDataModule:
    cfg = compose_cfg([f"task@target={task}", "model=tiny", *overrides])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return TaskDataModule(spec, load_tokenizer(cfg.model), data_dir, tmp_path / "cache", source=source)


def write(path: Path, rows: list[dict] | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = rows if isinstance(rows, str) else "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def projected_texts(dm: TaskDataModule, raw: datasets.Dataset, k: int) -> list[str]:
    """Decode the sub-tokens each example's span k was projected onto."""
    features = dm.featurizer.encode(raw[:], dm.tokenizer, 128)
    return [
        dm.tokenizer.decode(ids[start:end]).strip()
        for ids, start, end in zip(
            features["input_ids"], features[f"span{k}_start"], features[f"span{k}_end"], strict=True
        )
    ]


def words(text: str) -> str:
    return re.sub(r"[^\w' ]", "", text).lower()


# ----- readers and span projection ---------------------------------------------------------------
@pytest.mark.parametrize("task", ["wsc", "wic"])
def test_fixture_spans_project_onto_their_words(tmp_path, task: str) -> None:
    # The offsets rule; WiC's default, jiant's marking, is tested in tests/unit/test_fidelity_wic.py.
    dm = datamodule(tmp_path, task, overrides=("target.featurizer.marking=offsets",) if task == "wic" else ())
    raw = dm.read_split("val")
    assert set(raw["label"]) == {0, 1}
    for k in (1, 2):
        expected = [
            [r["text_a"], r["text_b"]][r[f"span{k}_segment"]][
                r[f"span{k}_char_start"] : r[f"span{k}_char_end"]
            ]
            for r in raw
        ]
        assert projected_texts(dm, raw, k) == expected
    facts = dm.featurizer.describe(raw, dm.tokenizer, 128)
    assert facts["spans"] == 2 * len(raw) and facts["spans lost to truncation"] == 0


@needs_realdata
@pytest.mark.parametrize(("split", "count", "true"), [("train", 32, 32), ("val", 104, 38)])
def test_real_wsc_spans_project_onto_the_right_subtokens(tmp_path, split: str, count: int, true: int) -> None:
    task_dir = tmp_path / "data" / "wsc"
    task_dir.mkdir(parents=True)
    (task_dir / "val.jsonl").symlink_to(REALDATA / "wsc" / f"{split}.jsonl")
    dm = datamodule(tmp_path, "wsc", tmp_path / "data")
    raw = dm.read_split("val")
    assert len(raw) == count and sum(raw["label"]) == true
    matching = 0
    for k in (1, 2):
        for record, decoded in zip(raw, projected_texts(dm, raw, k), strict=True):
            marked = record["text_a"][record[f"span{k}_char_start"] : record[f"span{k}_char_end"]]
            assert decoded == marked  # the sub-tokens are exactly the marked characters
            matching += words(marked) == words(record[f"span{k}_text"])
    # SuperGLUE WSC val holds one span whose span_text ("it") is not the word at its span_index ("use");
    # every other span decodes to its span_text (case aside; `him,"` is cut to `him`).
    facts = dm.featurizer.describe(raw, dm.tokenizer, 128)
    assert facts["spans whose words differ from span_text"] == (0 if split == "train" else 1)
    assert matching == 2 * count - facts["spans whose words differ from span_text"]


@needs_realdata
def test_real_wic_spans_project_onto_the_right_subtokens(tmp_path) -> None:
    task_dir = tmp_path / "data" / "wic"
    task_dir.mkdir(parents=True)
    (task_dir / "val.jsonl").symlink_to(REALDATA / "wic" / "train.jsonl")
    dm = datamodule(tmp_path, "wic", tmp_path / "data", overrides=("target.featurizer.marking=offsets",))
    raw = dm.read_split("val")
    assert len(raw) == 32 and sum(raw["label"]) == 17
    originals = [json.loads(line) for line in (REALDATA / "wic" / "train.jsonl").read_text().splitlines()]
    assert projected_texts(dm, raw, 1) == [o["sentence1"][o["start1"] : o["end1"]] for o in originals]
    assert projected_texts(dm, raw, 2) == [o["sentence2"][o["start2"] : o["end2"]] for o in originals]
    assert projected_texts(dm, raw, 1)[0] == "feel" and projected_texts(dm, raw, 2)[0] == "felt"


@needs_realdata
def test_real_multirc_excerpt(tmp_path) -> None:
    task_dir = tmp_path / "data" / "multirc"
    task_dir.mkdir(parents=True)
    (task_dir / "val.jsonl").symlink_to(REALDATA / "multirc" / "train.jsonl")
    dm = datamodule(tmp_path, "multirc", tmp_path / "data")
    raw = dm.read_split("val")
    # 32 paragraphs with one question each (FewGLUE), 154 answer options, 68 of them true.
    assert len(raw) == 154 and sum(raw["label"]) == 68
    facts = dm.featurizer.describe(raw, dm.tokenizer, 128)
    assert facts["questions"] == 32 and facts["paragraphs"] == 32
    assert facts["answers per question"]["mean"] == round(154 / 32, 2)
    first = raw[0]
    assert (
        first["text_b"]
        == "How does Jason react to the stranger who arrives with Susan? He welcomes him with open arm"
    )
    assert first["label"] == 0 and first["group"] == 0


@needs_realdata
def test_real_record_excerpt(tmp_path) -> None:
    task_dir = tmp_path / "data" / "record"
    task_dir.mkdir(parents=True)
    (task_dir / "val.jsonl").symlink_to(REALDATA / "record" / "train.jsonl")
    dm = datamodule(tmp_path, "record", tmp_path / "data")
    raw = dm.read_split("val")
    assert len(raw) == 32  # 32 passages with one query each
    first = raw[0]
    assert first["candidates"][:3] == ["Hamish Mackay", "Diego Costa", "Kurt Zouma"]
    assert first["answers"] == ["Olimpija Ljubljana"]  # listed twice (two mentions), kept once
    assert "@highlight" not in first["passage"] and "\n- Chelsea come from behind" in first["passage"]
    facts = dm.featurizer.describe(raw, dm.tokenizer, 128)
    assert facts["candidate sequences"] == 397 and facts["queries whose gold answers are no candidate"] == 0
    features = dm.featurized("val")
    assert len(features) == 397 and sum(features["label"]) >= 32


def test_fixture_facts_of_multirc_and_record(tmp_path) -> None:
    dm = datamodule(tmp_path, "multirc")
    facts = dm.featurizer.describe(dm.read_split("val"), dm.tokenizer, 128)
    # val = 2 paragraphs x 3 questions; answers per question 2, 3, 3 / 2, 3, 2 -> 15 options.
    assert facts == {
        "questions": 6,
        "paragraphs": 2,
        "answers per question": {"min": 2, "mean": 2.5, "max": 3},
        "questions without a true answer": 0,
    }
    dm = datamodule(tmp_path, "record")
    facts = dm.featurizer.describe(dm.read_split("val"), dm.tokenizer, 128)
    assert facts["queries"] == 3 and facts["candidates per query"]["min"] >= 2


def test_spans_lost_to_truncation_are_counted(tmp_path) -> None:
    dm = datamodule(tmp_path, "wsc")
    raw = dm.read_split("val")
    lengths = dm.featurizer.untruncated_lengths(raw[:], dm.tokenizer)
    facts = dm.featurizer.describe(raw, dm.tokenizer, 6)  # 4 words kept: every pronoun is lost
    assert facts["spans lost to truncation"] >= len(raw)
    features = dm.featurizer.encode(raw[:], dm.tokenizer, 6)
    lost = [i for i, end in enumerate(features["span2_end"]) if end == 1]
    assert lost and all(features["span2_start"][i] == 0 for i in lost)  # points at <s>
    assert max(lengths) > 6


# ----- heads -------------------------------------------------------------------------------------
def test_span_head_mean_pools_the_marked_tokens() -> None:
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float).view(2, 4, 1)  # values 0..7
    pooled = mean_pool_span(hidden, torch.tensor([1, 0]), torch.tensor([3, 1]))
    assert pooled.squeeze(-1).tolist() == [1.5, 4.0]  # mean(1, 2); token 0 of example 2 = 4
    head = MarkedSpanHead(hidden_size=1, labels=["false", "true"], dropout=0.0)
    batch = {k: torch.tensor(v) for k, v in {"span1_start": [1, 0], "span1_end": [3, 1]}.items()}
    batch |= {"span2_start": torch.tensor([3, 2]), "span2_end": torch.tensor([4, 4])}
    assert head(hidden, batch).shape == (2, 2)


def test_candidate_head_loss_skips_unlabeled() -> None:
    head = CandidateScoringHead(hidden_size=2, labels=["false", "true"], dropout=0.0)
    batch = {
        "label": torch.tensor([1, 0, -1]),
        "idx": torch.tensor([0, 0, 1]),
        "candidate": torch.tensor([0, 1, 0]),
    }
    logits = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 50.0]])
    assert head.loss(logits, batch).item() == pytest.approx(0.6931, abs=1e-4)  # ln 2, the -1 row ignored
    assert head.predict(logits, batch)["preds"].tolist() == [0, 0, 1]


# ----- metrics (hand-worked) ---------------------------------------------------------------------
def test_multirc_f1a_and_em_hand_worked() -> None:
    # question 0: 3 options, gold 1 0 1, predicted 1 0 1 -> all right
    # question 1: 2 options, gold 0 1,   predicted 1 1   -> one wrong
    # question 2: 2 options, gold 1 1,   predicted 1 0   -> one wrong
    # question 0's third option arrives in a later batch: EM must still see the question whole.
    batches = [
        ([1, 0, 1, 1], [1, 0, 0, 1], [0, 0, 1, 1]),
        ([1, 0, 1], [1, 1, 1], [2, 2, 0]),
    ]
    f1a, em = BinaryF1Score(), GroupExactMatch()
    for preds, target, group in batches:
        preds_t, target_t, group_t = torch.tensor(preds), torch.tensor(target), torch.tensor(group)
        f1a.update(preds_t, target_t)
        em.update(preds_t, target_t, group_t)
    # Pooled: TP = q0 two + q1 one + q2 one = 4; FP = q1 option 1 = 1; FN = q2 option 2 = 1
    # F1a = 2*4 / (2*4 + 1 + 1) = 0.8; EM = 1 of 3 questions.
    assert f1a.compute().item() == pytest.approx(0.8)
    assert em.compute().item() == pytest.approx(1 / 3)
    # Unlabeled rows (target -1) do not count.
    em.update(torch.tensor([1]), torch.tensor([-1]), torch.tensor([9]))
    assert em.compute().item() == pytest.approx(1 / 3)


def record_references() -> datasets.Dataset:
    # query 0: candidates "the Beatles", "Rolling Stones"; gold "Beatles" or "The Beatles band"
    # query 1: candidates "Paris", "New York City"; gold "New York"
    return datasets.Dataset.from_dict(
        {
            "idx": [0, 0, 1, 1],
            "candidate": [0, 1, 0, 1],
            "candidate_text": ["the Beatles", "Rolling Stones", "Paris", "New York City"],
            "answers": [["Beatles", "The Beatles band"]] * 2 + [["New York"]] * 2,
        }
    )


def test_record_f1_em_hand_worked() -> None:
    # As in training: both metrics in one MetricCollection (torchmetrics may share their states).
    metrics = MetricCollection({"f1": RecordScore("f1"), "em": RecordScore("em")})
    for metric in metrics.values():
        metric.bind_references(record_references())
    # Batches split the queries; query 0's best is candidate 0, query 1's is candidate 1.
    metrics.update(scores=torch.tensor([2.0, 0.5]), idx=torch.tensor([0, 1]), candidate=torch.tensor([0, 0]))
    metrics.update(scores=torch.tensor([-1.0, 3.0]), idx=torch.tensor([0, 1]), candidate=torch.tensor([1, 1]))
    # query 0: "the Beatles" -> normalised "beatles" (article dropped) == gold "beatles": EM 1, F1 1.
    # query 1: "New York City" vs "New York": EM 0; tokens {new, york, city} vs {new, york}:
    #          precision 2/3, recall 1, F1 = 2 * (2/3) / (2/3 + 1) = 0.8.
    # mean over queries: F1 = (1 + 0.8) / 2 = 0.9, EM = (1 + 0) / 2 = 0.5
    scores = metrics.compute()
    assert scores["f1"].item() == pytest.approx(0.9)
    assert scores["em"].item() == pytest.approx(0.5)


def test_record_ties_go_to_the_text_sorting_first_and_need_references() -> None:
    # jiant v1 sorts a query's candidates by text, then takes the first argmax: among tied scores,
    # "New York City" < "Paris" and "Rolling Stones" < "the Beatles" (Python string order).
    metric = RecordScore("em")
    metric.bind_references(record_references())
    metric.update(torch.zeros(4), torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 1, 0]))
    assert metric.best_candidates() == {1: "New York City", 0: "Rolling Stones"}
    assert metric.compute().item() == pytest.approx(0.0)  # neither equals a gold answer
    unbound = RecordScore("f1")
    unbound.update(torch.zeros(1), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(RuntimeError, match="bind_references"):
        unbound.compute()


# ----- Hub canonicalisation ----------------------------------------------------------------------
def fake_hub(monkeypatch, rows: dict) -> None:
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_dict(rows))


def test_hub_wsc_multirc_record_are_canonicalised(tmp_path, monkeypatch) -> None:
    fake_hub(
        monkeypatch,
        {
            "text": ["Mark told Pete many lies about himself."],
            "span1_index": [0],
            "span1_text": ["Mark"],
            "span2_index": [6],
            "span2_text": ["himself"],
            "idx": [0],
            "label": [1],
        },
    )
    row = datamodule(tmp_path, "wsc", tmp_path, "hub").read_split("val")[0]
    assert (row["span2_char_start"], row["span2_char_end"], row["label"]) == (31, 38, 1)
    fake_hub(
        monkeypatch,
        {
            "paragraph": ["<b>Sent 1: </b>A b.<br>"] * 3,
            "question": ["Q1?", "Q1?", "Q2?"],
            "answer": ["x", "y", "z"],
            "idx": [{"paragraph": 0, "question": 0, "answer": i} for i in range(2)]
            + [{"paragraph": 0, "question": 1, "answer": 2}],
            "label": [0, 1, 1],
        },
    )
    raw = datamodule(tmp_path, "multirc", tmp_path, "hub").read_split("val")
    assert raw["group"] == [0, 0, 1] and raw["text_a"] == ["A b."] * 3 and raw[1]["text_b"] == "Q1? y"
    fake_hub(
        monkeypatch,
        {
            "passage": ["Ann met Bob.\n@highlight\nAnn and Bob"],
            "query": ["@placeholder met Bob"],
            "entities": [["Ann", "Bob", "Ann"]],
            "answers": [["Ann"]],
            "idx": [{"passage": 0, "query": 7}],
        },
    )
    row = datamodule(tmp_path, "record", tmp_path, "hub").read_split("val")[0]
    assert row["candidates"] == ["Ann", "Bob"] and row["passage"] == "Ann met Bob.\n- Ann and Bob"
    assert row["query_id"] == "7"


# ----- bad input ---------------------------------------------------------------------------------
def read_local(tmp_path: Path, task: str) -> datasets.Dataset:
    return datamodule(tmp_path, task, tmp_path / "data").read_split("train")


WSC_ROW = {
    "text": "Mark told Pete many lies about himself.",
    "target": {"span1_index": 0, "span1_text": "Mark", "span2_index": 6, "span2_text": "himself"},
    "idx": 0,
    "label": True,
}
WIC_ROW = {"word": "run", "sentence1": "I run.", "sentence2": "A run.", "start1": 2, "end1": 5, "start2": 2}
WIC_ROW |= {"end2": 5, "label": True}
MULTIRC_ANSWER = {"text": "a", "label": 1}
MULTIRC_ROW = {
    "idx": 0,
    "passage": {"text": "P", "questions": [{"question": "Q", "answers": [MULTIRC_ANSWER]}]},
}
RECORD_PASSAGE = {"text": "Ann met Bob.", "entities": [{"start": 0, "end": 2}, {"start": 8, "end": 10}]}
RECORD_ROW = {"passage": RECORD_PASSAGE, "qas": [{"query": "@placeholder met Bob.", "answers": [], "idx": 0}]}
GOOD_ROWS = {"wsc": WSC_ROW, "wic": WIC_ROW, "multirc": MULTIRC_ROW, "record": RECORD_ROW}
SPAN2_PAST_END = {**WSC_ROW["target"], "span2_index": 9}
SPAN1_RUNS_PAST_END = {
    **WSC_ROW["target"],
    "span1_index": 5,
    "span1_text": "about his lie",
}  # 3 words at 5 of 7
BAD_ROWS = [
    ("wsc", {**WSC_ROW, "target": SPAN2_PAST_END}, r"span2_index 9 .* outside the 7 words"),
    ("wsc", {**WSC_ROW, "target": SPAN1_RUNS_PAST_END}, r"span1_index 5 \(\+3 words"),
    ("wsc", {"text": WSC_ROW["text"], "label": True}, "missing field `target`"),
    ("wsc", {**WSC_ROW, "label": "yes"}, "label 'yes' is not one of"),
    ("wic", {**WIC_ROW, "end2": 9}, r"start2/end2 = 2/9 is not a span of the 6 characters"),
    ("wic", {**WIC_ROW, "label": 1}, "label 1 is not one of"),
    ("wic", {"word": "run", "sentence1": "I run.", "label": False}, "missing field `sentence2`"),
    ("multirc", {**MULTIRC_ROW, "passage": {"text": "P", "questions": [{"question": "Q", "answers": [
        {**MULTIRC_ANSWER, "label": 2}]}]}}, "label 2 is not one of"),
    ("multirc", {"idx": 0, "passage": {"questions": []}}, "missing field `text`"),
    ("record", {**RECORD_ROW, "passage": {**RECORD_PASSAGE, "entities": [{"start": 8, "end": 12}]}},
     "entity 8..12 is outside"),
    ("record", {**RECORD_ROW, "qas": [{"query": "Who met Bob?", "answers": []}]}, "has no @placeholder"),
]  # fmt: skip


@pytest.mark.parametrize(("task", "row", "message"), BAD_ROWS)
def test_bad_records_are_named(tmp_path, task: str, row: dict, message: str) -> None:
    write(tmp_path / "data" / task / "train.jsonl", [GOOD_ROWS[task], row])
    with pytest.raises(DataFormatError, match=rf"train\.jsonl:2: .*{message}"):
        read_local(tmp_path, task)


@pytest.mark.parametrize("task", ["wsc", "wic", "multirc", "record"])
def test_malformed_json_line_is_named(tmp_path, task: str) -> None:
    write(tmp_path / "data" / task / "train.jsonl", '\n{"text": ')
    with pytest.raises(DataFormatError, match=r"train\.jsonl:2: invalid JSON"):
        read_local(tmp_path, task)
