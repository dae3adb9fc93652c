"""CCG tagging, QAMR and QA-SRL span QA: readers, featurizers, heads and metrics. (Cells that use
them as intermediate tasks: tests/integration/test_tasks_qa_tagging.py.)"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import datasets
import pytest
import torch

from stilts.contracts import IGNORE_INDEX as IGNORE
from stilts.errors import DataFormatError
from stilts.models.encoder import load_tokenizer
from stilts.models.span_heads import TokenTaggingHead
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.metrics_spans import SpanQAScore, TokenAccuracy
from stilts.tasks.span_qa import QamrReader, SpanQAFeaturizer
from stilts.tasks.spec import TaskSpec
from stilts.tasks.tagging import CcgbankReader, auto_sentences
from stilts.tasks.values import LabelMap
from tests.helpers import FIXTURES, compose_cfg, tiny_overrides


def datamodule(task: str, tmp_path: Path, data_dir: Path = FIXTURES) -> TaskDataModule:
    cfg = compose_cfg([*tiny_overrides(tmp_path), f"task@target={task}"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return TaskDataModule(spec, load_tokenizer(cfg.model), data_dir, tmp_path / "cache", source="local")


# ----- CCG ---------------------------------------------------------------------------------------
def test_ccg_labels_from_training_sections_and_unknown_dev_tags(tmp_path) -> None:
    dm = datamodule("ccg", tmp_path)
    base = FIXTURES / "ccg" / "data" / "AUTO"
    train_tags = {
        t
        for sec in ("00", "01")
        for p in (base / sec).glob("*.auto")
        for *_, ts in auto_sentences(p)
        for t in ts
    }
    assert list(dm.spec.labels) == [*sorted(train_tags), "<unk>"]
    val = dm.read_split("val")
    unk = len(dm.spec.labels) - 1
    # "The company approved the report yesterday ." : `yesterday` is S\S, a tag unseen in training.
    sentence = next(r for r in val if "yesterday" in r["text"])
    assert sentence["tags"][5] == unk and unk not in sentence["tags"][:5]


def test_ccg_featurizer_labels_first_subtoken_only(tmp_path) -> None:
    dm = datamodule("ccg", tmp_path)
    out = dm.featurized("train")
    raw = dm.read_split("train")
    for row, rec in zip(out, raw, strict=True):
        labelled = [t for t in row["tag_labels"] if t != IGNORE]
        assert labelled == rec["tags"]  # one label per word, in order, on its first sub-token
    assert dm.featurizer.describe(raw, dm.tokenizer, 4)["words cut by truncation (not scored)"] > 0


def test_token_accuracy_ignores_non_first_subtokens() -> None:
    # Positions with target -100 (special tokens, later sub-tokens) are not scored:
    # scored pairs (pred, target): (3,3) (1,2) (0,0) | (5,5) -> 3 correct of 4 = 0.75.
    preds = torch.tensor([[9, 3, 7, 1, 0], [9, 5, 4, 4, 4]])
    target = torch.tensor([[IGNORE, 3, IGNORE, 2, 0], [IGNORE, 5, IGNORE, IGNORE, IGNORE]])
    metric = TokenAccuracy()
    metric.update(preds, target)
    assert float(metric.compute()) == pytest.approx(0.75)


def test_tagging_head_never_predicts_unk() -> None:
    head = TokenTaggingHead(hidden_size=4, labels=["N", "NP", "<unk>"], dropout=0.0)
    logits = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 1.0, 9.0], [2.0, 0.0, 9.0]]])
    batch = {"tag_labels": torch.tensor([[IGNORE, 2, 0]]), "idx": torch.tensor([4])}
    out = head.predict(logits, batch)
    assert (
        out["preds"].tolist() == [1, 0] and out["target"].tolist() == [2, 0] and out["idx"].tolist() == [4, 4]
    )
    metric = TokenAccuracy()
    metric.update(out["preds"], out["target"])
    assert float(metric.compute()) == 0.5  # the <unk> word counts as wrong


def test_malformed_auto_leaf(tmp_path) -> None:
    path = tmp_path / "wsj_0001.auto"
    path.write_text(
        "ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1\n(<T S 0 2> (<L NP NNP John NP>) (<L . . . . .>) )\n"
    )
    with pytest.raises(DataFormatError, match="wsj_0001.auto:2: malformed leaves"):
        list(CcgbankReader({"train": "00"}).records([path], LabelMap(["NP", "."], None)))


# ----- QAMR / QA-SRL readers -----------------------------------------------------------------
def test_qamr_answer_is_min_to_max_of_indices(tmp_path) -> None:
    raw = datamodule("qamr", tmp_path).read_split("train")
    lines = (FIXTURES / "qamr" / "filtered" / "train.tsv").read_text().splitlines()
    assert len(raw) == len(lines)
    # row 6: "What does the Nile reach ?" -> indices 9 10 11 of the Nile sentence
    assert raw[5]["answer"] == "the Mediterranean Sea" and (raw[5]["answer_start"], raw[5]["answer_end"]) == (
        9,
        12,
    )


def write_qamr(tmp_path: Path, answer: str, sent_id: str = "S1") -> tuple[QamrReader, list[Path]]:
    (tmp_path / "filtered").mkdir(exist_ok=True)
    (tmp_path / "wiki-sentences.tsv").write_text("S1\tThe cat sat .\n")
    row = [sent_id, "0 1", "W", "0", "1", "Who sat ?", answer, "V1:1", "V2:1"]
    (tmp_path / "filtered" / "train.tsv").write_text("\t".join(row) + "\n")
    reader = QamrReader({"train": "filtered/train.tsv"})
    return reader, reader.split_paths(tmp_path, "train")


@pytest.mark.parametrize("answer", ["1 4", "-1", "x"])
def test_qamr_answer_index_out_of_range(tmp_path, answer: str) -> None:
    reader, paths = write_qamr(tmp_path, answer)
    with pytest.raises(DataFormatError, match="train.tsv:1: answer indices"):
        list(reader.records(paths, LabelMap([], None)))


def test_qamr_sentence_id_missing(tmp_path) -> None:
    reader, paths = write_qamr(tmp_path, "1", sent_id="S2")
    with pytest.raises(DataFormatError, match="train.tsv:1: sentence id 'S2' is not in wiki-sentences.tsv"):
        list(reader.records(paths, LabelMap([], None)))
    reader, paths = write_qamr(tmp_path, "1", sent_id="PTB_1")  # the PTB part: skipped, as jiant
    assert list(reader.records(paths, LabelMap([], None))) == []


def test_qasrl_one_example_per_question_and_valid_span(tmp_path) -> None:
    raw = datamodule("qasrl", tmp_path).read_split("train")
    expected = []
    with gzip.open(FIXTURES / "qasrl" / "orig" / "train.jsonl.gz", "rt") as handle:
        for line in handle:
            obj = json.loads(line)
            for entry in obj["verbEntries"].values():
                for label in entry["questionLabels"].values():
                    for judgment in label["answerJudgments"]:
                        for s, e in judgment.get("spans", []) if judgment["isValid"] else []:
                            expected.append(" ".join(obj["sentenceTokens"][s:e]))  # end-exclusive
    assert raw["answer"] == expected and len(expected) == 15


# ----- span QA featurizer, head and SQuAD metric -----------------------------------------------
def test_span_qa_featurizer_projects_answers_into_the_context(tmp_path) -> None:
    dm = datamodule("qamr", tmp_path)
    out = dm.featurized("train")
    for row in out:
        start, end = row["start_positions"], row["end_positions"]  # end exclusive, as jiant
        assert row["offsets"][0] == [-1, -1] and row["offsets"][1][0] == 0  # <s>, then the passage
        assert row["offsets"][start][0] >= 0 and start < end
        assert row["context"][row["offsets"][start][0] : row["offsets"][end - 1][1]] == row["answer"]
    raw = dm.read_split("train")
    short = SpanQAFeaturizer().describe(raw, dm.tokenizer, 24)
    assert short["answers cut by truncation (no loss; scored as wrong)"] > 0


def test_squad_f1_em_with_normalisation() -> None:
    context = "Marie Curie won the Nobel Prize in Physics in 1903 ."
    offsets = [
        [-1, -1],
        [0, 5],
        [6, 11],
        [12, 15],
        [16, 19],
        [20, 25],
        [26, 31],
        [32, 34],
        [35, 42],
        [43, 45],
        [46, 50],
    ]
    refs = datasets.Dataset.from_list(
        [
            {"idx": 0, "context": context, "offsets": offsets, "answer": "nobel prize!"},
            {"idx": 1, "context": context, "offsets": offsets, "answer": "Physics"},
        ]
    )
    f1, em = SpanQAScore("f1"), SpanQAScore("em")
    for metric in (f1, em):
        metric.bind_references(refs)
        # Ends are exclusive (jiant). Example 0: tokens 4..6 = "the Nobel Prize" -> normalised
        # "nobel prize" == gold: EM 1, F1 1. Example 1: tokens 7..9 = "in Physics in" ->
        # [in, physics, in] vs [physics]: overlap 1, precision 1/3, recall 1 -> F1 = 0.5; EM 0.
        metric.update(torch.tensor([4, 7]), torch.tensor([7, 10]), torch.tensor([0, 1]))
    assert float(f1.compute()) == pytest.approx(0.75)
    assert float(em.compute()) == pytest.approx(0.5)
