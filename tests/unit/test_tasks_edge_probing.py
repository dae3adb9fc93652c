"""Edge probing: readers (JSON, SemEval TXT, CoNLL-U), featurizer, span head, micro-F1. (One encoder pass
per sentence in a cell: tests/integration/test_tasks_edge_probing.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
from torchmetrics.classification import BinaryF1Score

from stilts.errors import DataFormatError
from stilts.models.encoder import load_tokenizer
from stilts.models.span_heads import EdgeProbingHead
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.edge_probing import EdgeProbingFeaturizer, EdgeProbingReader
from stilts.tasks.ep_converters import ConlluReader, SemEvalHubReader, SemEvalReader, in_train_part
from stilts.tasks.spec import TaskSpec
from stilts.tasks.values import LabelMap
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata, tiny_overrides


def spec_of(task: str, tmp_path: Path) -> tuple[TaskSpec, object]:
    cfg = compose_cfg([*tiny_overrides(tmp_path), f"task@target={task}"])
    return TaskSpec.from_config(cfg.target, key="target"), cfg


def datamodule(task: str, tmp_path: Path, data_dir: Path = FIXTURES) -> TaskDataModule:
    spec, cfg = spec_of(task, tmp_path)
    return TaskDataModule(spec, load_tokenizer(cfg.model), data_dir, tmp_path / "cache", source="local")


def ep_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ----- reader, featurizer, collator ---------------------------------------------------------------
def test_featurizer_projects_word_spans_and_counts_truncation(tmp_path) -> None:
    spec, cfg = spec_of("ep_coref", tmp_path)
    tokenizer = load_tokenizer(cfg.model)
    text = "Unbelievably , Constantinople fell ."
    raw = datasets.Dataset.from_list(
        [
            {
                "idx": 0,
                "text": text,
                "span1": [[2, 3], [0, 1]],
                "span2": [[3, 4], [4, 5]],
                "labels": [[0, 1], [1, 0]],
            },
            {"idx": 1, "text": "No targets here .", "span1": [], "span2": [], "labels": []},
        ],
        features=datasets.Features(
            {
                "idx": datasets.Value("int64"),
                "text": datasets.Value("string"),
                "span1": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
                "span2": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
                "labels": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
            }
        ),
    )
    featurizer = EdgeProbingFeaturizer(two_spans=True)
    out = featurizer(raw, tokenizer, 128, tmp_path / "cache")
    assert len(out) == 1 and out[0]["idx"] == 0  # the sentence without targets is skipped
    encoded = tokenizer(text, return_offsets_mapping=True)
    for (start, end), word in zip(out[0]["span1"], ["Constantinople", "Unbelievably"], strict=True):
        assert text[encoded["offset_mapping"][start][0] : encoded["offset_mapping"][end - 1][1]] == word
    assert out[0]["labels"] == [[0, 1], [1, 0]]
    # With 5 tokens only (<s> + 3 pieces + </s>), the spans over later words are cut and counted.
    facts = featurizer.describe(raw, tokenizer, 5)
    assert facts["sentences skipped (no targets)"] == 1
    assert (
        facts["targets dropped (cut by truncation)"] == 2
        and facts["sentences skipped (all targets cut)"] == 1
    )
    batch = featurizer.collator(tokenizer.pad_token_id)([out[0]])
    assert batch["span1"].shape == (1, 2, 2) and batch["labels"].shape == (1, 2, 2)
    assert batch["target_mask"].tolist() == [[True, True]]


def test_labels_from_train_are_sorted_and_enter_the_fingerprint(tmp_path) -> None:
    dm = datamodule("ep_srl", tmp_path)
    found = {t["label"] for r in ep_lines(FIXTURES / "ep_srl" / "train.edges.json") for t in r["targets"]}
    assert list(dm.spec.labels) == sorted(found)
    spec, _ = spec_of("ep_srl", tmp_path)
    assert spec.labels == () and dm.spec.digest() != spec.digest()
    assert list(dm.spec.cfg.labels) == sorted(found)


# ----- edge-probing micro-F1 and the span head ----------------------------------------------------
def test_ep_micro_f1_by_hand() -> None:
    # Two targets x 3 labels. Decisions: (t0,l0) tp, (t0,l1) fn, (t0,l2) fp, (t1,l1) tp, rest tn.
    # tp = 2, fp = 1, fn = 1 -> F1 = 2*2 / (2*2 + 1 + 1) = 4/6.
    preds = torch.tensor([[1, 0, 1], [0, 1, 0]])
    target = torch.tensor([[1, 1, 0], [0, 1, 0]])
    metric = BinaryF1Score()
    metric.update(preds, target)
    assert float(metric.compute()) == pytest.approx(4 / 6)


def test_span_head_predicts_per_target_and_skips_padding() -> None:
    head = EdgeProbingHead(hidden_size=8, labels=["a", "b", "c"], dropout=0.0, num_spans=2, proj_dim=4)
    batch = {
        "span1": torch.tensor([[[1, 2], [2, 4]], [[1, 3], [0, 0]]]),
        "span2": torch.tensor([[[3, 4], [1, 2]], [[2, 3], [0, 0]]]),
        "labels": torch.tensor([[[1, 0, 0], [0, 1, 1]], [[0, 0, 1], [0, 0, 0]]]),
        "target_mask": torch.tensor([[True, True], [True, False]]),
        "idx": torch.tensor([7, 9]),
    }
    logits = head(torch.randn(2, 5, 8), batch)
    assert logits.shape == (2, 2, 3)
    out = head.predict(logits, batch)
    assert out["idx"].tolist() == [7, 7, 9]  # three real targets, each with its sentence
    assert out["preds"].tolist() == (logits[batch["target_mask"]] >= 0).long().tolist()
    assert out["target"].tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert torch.isfinite(head.loss(logits, batch))


# ----- SemEval-2010 task 8 ------------------------------------------------------------------------
def test_semeval_split_is_deterministic_disjoint_and_complete(tmp_path) -> None:
    dm = datamodule("ep_rel", tmp_path)
    train, val = dm.read_split("train"), dm.read_split("val")
    total = (FIXTURES / "ep_rel" / "TRAIN_FILE.TXT").read_bytes().count(b'\t"')
    assert len(train) + len(val) == total and len(val) > 0
    assert set(train["text"]).isdisjoint(val["text"])
    assert len(train) == sum(in_train_part(total))
    first = train[0]  # 1  "The <e1>company</e1> fabricates plastic <e2>chairs</e2>."
    assert first["text"] == "The company fabricates plastic chairs."
    assert first["span1"] == [[1, 2]] and first["span2"] == [[4, 5]]
    label = dm.spec.labels.index("Product-Producer(e2,e1)")
    assert first["labels"][0][label] == 1 and sum(first["labels"][0]) == 1
    assert len(dm.read_split("test")) == 6


def test_semeval_hub_reader_parses_markup_and_splits(tmp_path, monkeypatch) -> None:
    spec, _ = spec_of("ep_rel", tmp_path)
    names = list(spec.labels)
    rows = [{"sentence": f"A <e1>cat</e1> saw the <e2>dog {i}</e2>.", "relation": i % 19} for i in range(20)]
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "relation": datasets.ClassLabel(names=names)}
    )
    fake = datasets.Dataset.from_list(rows, features=features)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: fake)
    reader = SemEvalHubReader(path="x/y", splits={"train": "train"}, fields={"sentence": "sentence"})
    train, val = reader.read("train", names, tmp_path), reader.read("val", names, tmp_path)
    assert len(train) == sum(in_train_part(20)) and len(train) + len(val) == 20
    assert train[0]["text"] == "A cat saw the dog 0." and train[0]["span2"] == [[4, 6]]


@pytest.mark.parametrize(
    "body, message",
    [
        ('1\t"A <e1>b</e1> c <e2>d</e2>."\r\nComment:\r\n\r\n', "relation line"),
        ('1\t"A <e1>b</e1> c d."\r\nOther\r\nComment:\r\n\r\n', "<e2>"),
        ('1\t"A <e1>b</e1> c <e2>d</e2>."\r\nNot-A-Relation\r\nComment:\r\n\r\n', "relation line"),
    ],
)
def test_semeval_bad_records(tmp_path, body: str, message: str) -> None:
    (tmp_path / "TRAIN_FILE.TXT").write_bytes(body.encode())
    reader = SemEvalReader({"test": "TRAIN_FILE.TXT"})
    labels = LabelMap(["Other", "Cause-Effect(e1,e2)"], None)
    with pytest.raises(DataFormatError, match=message):
        list(reader.records([tmp_path / "TRAIN_FILE.TXT"], labels))


# ----- CoNLL-U ---------------------------------------------------------------------------------
def test_conllu_fixture_follows_jiant(tmp_path) -> None:
    dm = datamodule("ep_ud", tmp_path)
    train = dm.read_split("train")
    assert len(train) == 7  # 6 plain sentences + the one with a multiword token; the empty-node one skipped
    mwt = train[6]
    assert mwt["text"] == "Do n't go ."  # the `1-2 Don't` range line is skipped, its words kept
    root = dm.spec.labels.index("root")
    arcs = {tuple(dep): head for dep, head in zip(mwt["span1"], mwt["span2"], strict=True)}
    assert arcs[(2, 3)] == [2, 3]  # root: a self-loop, as jiant
    assert arcs[(0, 1)] == [2, 3]  # span1 = dependent `Do`, span2 = head `go`
    assert mwt["labels"][2][root] == 1


@needs_realdata
def test_real_ud_excerpt_counts(tmp_path) -> None:
    path = REALDATA / "ep_ud" / "dependencies.conllu"
    if not path.is_file():
        pytest.skip("no UD excerpt")
    spec, _ = spec_of("ep_ud", tmp_path)
    # Count independently: sentences are blank-line separated blocks; those with an empty node
    # (id with a dot) are skipped, and every word line (integer id) of the others is one arc.
    blocks = [b for b in path.read_text().split("\n\n") if b.strip()]
    sentences = arcs = 0
    for block in blocks:
        ids = [line.split("\t")[0] for line in block.splitlines() if line and not line.startswith("#")]
        if any("." in i for i in ids):
            continue
        sentences += 1
        arcs += sum(i.isdigit() for i in ids)
    records = list(ConlluReader({"train": path.name}).records([path], LabelMap(spec.labels, None)))
    assert len(records) == sentences == 3
    assert sum(len(r["span1"]) for r in records) == arcs
    assert all(len(r["text"].split()) == len(r["span1"]) for r in records)


def test_conllu_wrong_column_count(tmp_path) -> None:
    path = tmp_path / "bad.conllu"
    path.write_text("# text = Hi\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\n\n")
    with pytest.raises(DataFormatError, match=r"bad.conllu:2: expected 10"):
        list(ConlluReader({"train": "bad.conllu"}).records([path], LabelMap(["root"], None)))


# ----- bad edge-probing JSON ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": "a b c", "targets": [', "invalid JSON"),
        (
            '{"text": "a b c", "targets": [{"span1": [1, 4], "span2": [0, 1], "label": "x"}]}',
            "within the 3 words",
        ),
        (
            '{"text": "a b c", "targets": [{"span1": [2, 2], "span2": [0, 1], "label": "x"}]}',
            "non-empty span",
        ),
        ('{"text": "a b c", "targets": [{"span1": [0, 1], "label": "x"}]}', "span2"),
        ('{"text": "a b c", "targets": [{"span1": [0, 1], "span2": [1, 2], "label": "zz"}]}', "not one of"),
        (
            '{"text": "a b c", "targets": [{"span1": [0, 1], "span2": [1, 2], "label": ["x", "zz"]}]}',
            "not one of",
        ),
    ],
)
def test_bad_edge_probing_lines(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "train.json"
    path.write_text('{"text": "fine", "targets": []}\n' + line + "\n")
    reader = EdgeProbingReader({"train": "train.json"}, two_spans=True)
    with pytest.raises(DataFormatError, match=rf"train.json:2: .*{message}"):
        list(reader.records([path], LabelMap(["x", "y"], None)))


def test_dev_label_outside_derived_label_set(tmp_path) -> None:
    data = tmp_path / "data" / "ep_srl"
    data.mkdir(parents=True)
    (data / "train.edges.json").write_text(
        '{"text": "a b", "targets": [{"span1": [0, 1], "span2": [1, 2], "label": "ARG0"}]}\n'
    )
    (data / "dev.edges.json").write_text(
        '{"text": "a b", "targets": [{"span1": [0, 1], "span2": [1, 2], "label": "ARG9"}]}\n'
    )
    dm = datamodule("ep_srl", tmp_path, tmp_path / "data")
    assert dm.spec.labels == ("ARG0",)
    with pytest.raises(DataFormatError, match="dev.edges.json:1: label 'ARG9'"):
        dm.read_split("val")
