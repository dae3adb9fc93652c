"""Multiple-choice tasks (COPA, CommonsenseQA, Cosmos QA, SocialIQA, HellaSwag): readers on fixtures
and real excerpts, featurizer/collator shapes, head + accuracy, Hub canonicalisation, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy

from stilts.errors import DataFormatError
from stilts.models.choice_heads import MultipleChoiceHead
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.multiple_choice import MultipleChoiceCollator, MultipleChoiceFeaturizer
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata

MC_TASKS = {"copa": 2, "commonsenseqa": 5, "cosmosqa": 4, "socialiqa": 3, "hellaswag": 4}


def datamodule(tmp_path: Path, task: str, data_dir: Path = FIXTURES) -> TaskDataModule:
    cfg = compose_cfg([f"task@target={task}", "model=tiny"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return TaskDataModule(spec, load_tokenizer(cfg.model), data_dir, tmp_path / "cache", source="local")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


@pytest.mark.parametrize("task", sorted(MC_TASKS))
def test_fixture_reads_with_every_label_in_val(tmp_path, task: str) -> None:
    dm = datamodule(tmp_path, task)
    for split in ("train", "val"):
        raw = dm.read_split(split)
        assert all(len(choices) == MC_TASKS[task] for choices in raw["choices"])
    val = dm.read_split("val")
    assert set(val["label"]) == set(range(MC_TASKS[task]))
    assert dm.featurizer.describe(val, dm.tokenizer, 128) == {
        "choices per question": {str(MC_TASKS[task]): len(val)}
    }


def test_copa_texts_use_the_connective(tmp_path) -> None:
    record = datamodule(tmp_path, "copa").read_split("train")[0]
    # {"premise": "The man broke his toe.", "choice1": "He dropped a hammer on his foot.", question: cause}
    assert record["context"] == "The man broke his toe because"
    assert record["choices"] == ["He dropped a hammer on his foot.", "He got a hole in his sock."]
    assert record["label"] == 0


@needs_realdata
def test_real_copa_excerpt(tmp_path) -> None:
    raw = datamodule(tmp_path, "copa", REALDATA).read_split("train")
    assert len(raw) == 32
    assert sorted(raw["label"]).count(1) == 18  # 18 x label 1, 14 x label 0 in the FewGLUE excerpt
    assert raw[0]["context"] == "The chandelier shattered on the floor because"
    assert raw[1]["context"] == "The man slid the razor across his chin so" and raw[1]["label"] == 1


@needs_realdata
def test_real_commonsenseqa_excerpt(tmp_path) -> None:
    task_dir = tmp_path / "data" / "commonsenseqa"
    task_dir.mkdir(parents=True)
    for name in ("train_rand_split.jsonl", "dev_rand_split.jsonl"):
        (task_dir / name).symlink_to(REALDATA / "commonsenseqa" / "commonsenseqa.jsonl")
    raw = datamodule(tmp_path, "commonsenseqa", tmp_path / "data").read_split("val")
    assert len(raw) == 10
    assert [raw["label"].count(i) for i in range(5)] == [5, 2, 2, 1, 0]  # answer keys A x5, B x2, C x2, D x1
    first = raw[0]
    assert first["context"].startswith("Q: A revolving door is convenient")
    assert first["choices"][0] == "A: bank" and first["label"] == 0


@needs_realdata
def test_real_cosmosqa_excerpt(tmp_path) -> None:
    task_dir = tmp_path / "data" / "cosmosqa"
    task_dir.mkdir(parents=True)
    for name in ("train.csv", "valid.csv"):
        (task_dir / name).symlink_to(REALDATA / "cosmosqa" / "valid.csv")
    raw = datamodule(tmp_path, "cosmosqa", tmp_path / "data").read_split("val")
    assert len(raw) == 100
    assert [raw["label"].count(i) for i in range(4)] == [30, 25, 18, 27]
    assert raw[0]["context"].endswith("Why is this person asking about divorce ?")
    assert raw[0]["choices"][1] == "He wants to get married to a different person ." and raw[0]["label"] == 1


def test_featurizer_and_collator_flatten_choices(tmp_path) -> None:
    dm = datamodule(tmp_path, "commonsenseqa")
    features = dm.featurized("val")
    example = features[0]
    assert len(example["input_ids"]) == 5 and example["length"] == max(map(len, example["input_ids"]))
    batch = dm.featurizer.collator(dm.tokenizer.pad_token_id)([features[i] for i in range(3)])
    longest = max(len(ids) for i in range(3) for ids in features[i]["input_ids"])
    assert batch["input_ids"].shape == (15, longest)
    assert batch["choice_mask"].shape == (3, 5) and batch["choice_mask"].all()
    assert batch["label"].shape == (3,)


def test_collator_fills_missing_choices_and_masks_them() -> None:
    collate = MultipleChoiceCollator(MultipleChoiceFeaturizer.pad_values, pad_token_id=1)
    examples = [
        {
            "input_ids": [[0, 5, 2], [0, 6, 7, 2]],
            "attention_mask": [[1, 1, 1], [1, 1, 1, 1]],
            "label": 1,
            "idx": 0,
        },
        {"input_ids": [[0, 8, 2]], "attention_mask": [[1, 1, 1]], "label": 0, "idx": 1},
    ]
    batch = collate(examples)
    assert batch["input_ids"].tolist() == [[0, 5, 2, 1], [0, 6, 7, 2], [0, 8, 2, 1], [0, 8, 2, 1]]
    assert batch["choice_mask"].tolist() == [[True, True], [True, False]]
    head = MultipleChoiceHead(hidden_size=4, labels=["a", "b"], dropout=0.0)
    logits = head(torch.randn(4, 4, 4), batch)
    assert logits.shape == (2, 2) and logits[1, 1] < -1e30  # the filler can never win
    assert torch.isfinite(head.loss(logits, batch))


def test_head_predictions_and_accuracy_hand_worked() -> None:
    # 3 questions x 3 choices; first-token states are one-hot so the linear score is readable.
    head = MultipleChoiceHead(hidden_size=3, labels=["A", "B", "C"], dropout=0.0)
    with torch.no_grad():
        head.score.weight.copy_(torch.tensor([[1.0, 2.0, 3.0]]))
        head.score.bias.zero_()
    hidden = torch.zeros(9, 2, 3)
    # question 0 choices -> states e0, e2, e1 (scores 1, 3, 2): argmax 1
    # question 1 choices -> e2, e0, e1 (scores 3, 1, 2): argmax 0
    # question 2 choices -> e0, e1, e2 (scores 1, 2, 3): argmax 2
    for row, unit in enumerate([0, 2, 1, 2, 0, 1, 0, 1, 2]):
        hidden[row, 0, unit] = 1.0
    batch = {"choice_mask": torch.ones(3, 3, dtype=torch.bool), "label": torch.tensor([1, 2, 2])}
    out = head.predict(head(hidden, batch), batch)
    assert out["preds"].tolist() == [1, 0, 2]
    accuracy = MulticlassAccuracy(num_classes=3, average="micro")
    accuracy.update(out["preds"], out["target"])
    assert accuracy.compute().item() == pytest.approx(2 / 3)  # questions 0 and 2 right, 1 wrong


def test_hub_rows_are_canonicalised(tmp_path, monkeypatch) -> None:
    rows = {
        "id": ["q1", "q2"],
        "question": ["Where are books?", "What is hot?"],
        "question_concept": ["book", "hot"],
        "choices": [
            {"label": ["A", "B", "C", "D", "E"], "text": ["library", "sea", "sky", "car", "cup"]},
            {"label": ["A", "B", "C", "D", "E"], "text": ["ice", "snow", "fire", "rain", "wind"]},
        ],
        "answerKey": ["A", ""],  # the test split has no answers
    }
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_dict(rows))
    cfg = compose_cfg(["task@target=commonsenseqa", "model=tiny"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    dm = TaskDataModule(spec, load_tokenizer(cfg.model), tmp_path, tmp_path / "cache", source="hub")
    raw = dm.read_split("val")
    assert raw[0] == {
        "idx": 0,
        "label": 0,
        "context": "Q: Where are books?",
        "choices": ["A: library", "A: sea", "A: sky", "A: car", "A: cup"],
    }
    assert raw[1]["label"] == -1


# ----- bad input ---------------------------------------------------------------------------------
def read_local(tmp_path: Path, task: str, split: str = "train") -> datasets.Dataset:
    return datamodule(tmp_path, task, tmp_path / "data").read_split(split)


def copa_row(**changes) -> dict:
    row = {
        "premise": "It rained.",
        "choice1": "A",
        "choice2": "B",
        "question": "effect",
        "label": 0,
        "idx": 0,
    }
    return {**row, **changes}


def test_malformed_json_line_is_named(tmp_path) -> None:
    write(tmp_path / "data/copa/train.jsonl", jsonl([copa_row()]) + '{"premise": "oops",\n')
    with pytest.raises(DataFormatError, match=r"train\.jsonl:2: invalid JSON"):
        read_local(tmp_path, "copa")


def test_missing_field_is_named(tmp_path) -> None:
    row = {"ctx_a": "A man sits.", "ctx_b": "he", "label": 0}  # no `endings`
    write(tmp_path / "data/hellaswag/hellaswag_train.jsonl", jsonl([row]))
    with pytest.raises(DataFormatError, match=r"hellaswag_train\.jsonl:1: missing field `endings`"):
        read_local(tmp_path, "hellaswag")


@pytest.mark.parametrize(
    ("task", "name", "row", "message"),
    [
        ("copa", "train.jsonl", copa_row(label=2), "label 2 is not one of"),
        ("copa", "train.jsonl", copa_row(question="why"), "`question` is 'why'"),
        (
            "commonsenseqa",
            "train_rand_split.jsonl",
            {"answerKey": "F", "question": {"stem": "Q?", "choices": [{"label": "A", "text": "x"}] * 5}},
            "label 'F' is not one of",
        ),
        (
            "commonsenseqa",
            "train_rand_split.jsonl",
            {"answerKey": "B", "question": {"stem": "Q?", "choices": [{"label": "A", "text": "x"}] * 5}},
            "answerKey 'B' is not among the choices",
        ),
    ],
)
def test_label_outside_the_set_is_named(tmp_path, task: str, name: str, row: dict, message: str) -> None:
    write(tmp_path / "data" / task / name, jsonl([row]))
    with pytest.raises(DataFormatError, match=rf"{name}:1: .*{message}"):
        read_local(tmp_path, task)


def siqa(n: int) -> str:
    return jsonl([{"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c"}] * n)


@pytest.mark.parametrize(("questions", "labels"), [(3, "1\n2\n"), (2, "1\n2\n3\n")])
def test_misaligned_socialiqa_labels_name_both_files(tmp_path, questions: int, labels: str) -> None:
    write(tmp_path / "data/socialiqa/train.jsonl", siqa(questions))
    write(tmp_path / "data/socialiqa/train-labels.lst", labels)
    with pytest.raises(DataFormatError, match=r":3: train\.jsonl and train-labels\.lst do not line up"):
        read_local(tmp_path, "socialiqa")


def test_socialiqa_label_outside_the_set(tmp_path) -> None:
    write(tmp_path / "data/socialiqa/train.jsonl", siqa(2))
    write(tmp_path / "data/socialiqa/train-labels.lst", "1\n4\n")
    with pytest.raises(DataFormatError, match=r"train-labels\.lst:2: label '4' is not one of"):
        read_local(tmp_path, "socialiqa")


COSMOS_HEADER = "id,context,question,answer0,answer1,answer2,answer3,label\n"


def test_cosmosqa_names_the_line_a_bad_record_starts_on(tmp_path) -> None:
    good = 'a,"first line\nsecond, ""quoted"" line",Why ?,w,x,y,z,2\n'  # one record over lines 2-3
    write(tmp_path / "data/cosmosqa/train.csv", COSMOS_HEADER + good + "b,ctx,Why ?,w,x,y,2\n")
    with pytest.raises(DataFormatError, match=r"train\.csv:4: expected 8 comma-separated fields, found 7"):
        read_local(tmp_path, "cosmosqa")
    write(tmp_path / "data/cosmosqa/train.csv", COSMOS_HEADER + good)
    raw = read_local(tmp_path, "cosmosqa")
    assert raw[0]["context"] == 'first line\nsecond, "quoted" line Why ?' and raw[0]["label"] == 2


def test_cosmosqa_header_and_labels_are_checked(tmp_path) -> None:
    write(tmp_path / "data/cosmosqa/train.csv", "id,context,question,answer0,label\nx,c,q,a,0\n")
    with pytest.raises(DataFormatError, match=r"train\.csv:1: header lacks columns \['answer1'"):
        read_local(tmp_path, "cosmosqa")
    write(tmp_path / "data/cosmosqa/train.csv", COSMOS_HEADER + "a,c,q,w,x,y,z,4\n")
    with pytest.raises(DataFormatError, match=r"train\.csv:2: label '4' is not one of"):
        read_local(tmp_path, "cosmosqa")
