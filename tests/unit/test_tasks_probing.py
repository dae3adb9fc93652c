"""SentEval and DNC function-word readers: splits, folds, open label sets, real excerpts, bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from stilts.errors import ConfigError, DataFormatError, MissingDataError
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.probing import DNCAcceptabilityReader, SentEvalReader
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata

AJ_LABELS = ("unacceptable", "acceptable")


def task_reader(task: str, data_dir: Path = FIXTURES, *overrides: str):
    cfg = compose_cfg([f"task@target={task}", f"paths.data_dir={data_dir}", *overrides])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return spec, instantiate(spec.cfg.local)


def read(reader, task_dir: Path, split: str, labels, tmp_path: Path):
    return reader.read(task_dir, split, list(labels), tmp_path / "cache")


def test_senteval_splits_by_partition_column(tmp_path):
    spec, reader = task_reader("se_bshift")
    counts = {s: len(read(reader, FIXTURES / "se_bshift", s, spec.labels, tmp_path)) for s in SPLITS}
    assert counts == {"train": 24, "val": 12, "test": 6}
    val = read(reader, FIXTURES / "se_bshift", "val", spec.labels, tmp_path)
    assert Counter(val["label"]) == {0: 6, 1: 6}  # O, I alternate in the fixture
    assert val[0]["text_a"].endswith(" .")


SPLITS = ("train", "val", "test")


@needs_realdata
@pytest.mark.parametrize("task,file,counts", [
    ("se_sentlen", "sentence_length.txt", {"train": 40, "test": 21}),
    ("se_bshift", "bigram_shift.txt", {"train": 40, "test": 20}),
])  # fmt: skip
def test_senteval_real_excerpts(tmp_path, task, file, counts):
    spec, reader = task_reader(task, REALDATA)
    task_dir = REALDATA / task
    lines = [x.split("\t")[0] for x in (task_dir / file).read_text(encoding="utf-8").splitlines() if x]
    assert Counter(lines) == {"tr": counts["train"], "te": counts["test"]}  # counted independently
    for split, expected in counts.items():
        assert len(read(reader, task_dir, split, spec.labels, tmp_path)) == expected
    # The excerpt has no `va` lines: reading val says so instead of returning an empty split.
    with pytest.raises(MissingDataError, match="no `va` lines"):
        read(reader, task_dir, "val", spec.labels, tmp_path)


def derived_spec(data_dir: Path, tmp_path: Path) -> TaskSpec:
    """se_wc's spec once the datamodule has taken its labels from the training partition."""
    spec, _ = task_reader("se_wc", data_dir)
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    return TaskDataModule(spec, tokenizer, data_dir, tmp_path / "cache").spec


def test_word_content_labels_come_from_the_training_partition(tmp_path):
    spec = derived_spec(FIXTURES, tmp_path)
    assert spec.labels == ("garden", "library", "market", "river")  # sorted, from tr lines only
    # The derived labels are part of the task digest: another training vocabulary, another digest.
    other = tmp_path / "data" / "se_wc"
    other.mkdir(parents=True)
    text = (FIXTURES / "se_wc" / "word_content.txt").read_text(encoding="utf-8")
    (other / "word_content.txt").write_text(text.replace("\tmarket\t", "\tmeadow\t"), encoding="utf-8")
    spec2 = derived_spec(tmp_path / "data", tmp_path)
    assert "meadow" in spec2.labels and "market" not in spec2.labels
    assert spec2.digest() != spec.digest()


def test_word_content_labels_need_the_training_file(tmp_path):
    (tmp_path / "se_wc").mkdir()
    with pytest.raises(MissingDataError, match="word_content.txt"):
        derived_spec(tmp_path, tmp_path)


@needs_realdata
def test_dnc_real_excerpt_fold1_counts(tmp_path):
    task_dir = REALDATA / "aj_def"
    meta = json.loads((task_dir / "acceptability-definiteness_metadata.json").read_text(encoding="utf-8"))
    expected = Counter(m["misc"]["fold1"] for m in meta)
    spec, reader = task_reader("aj_def", REALDATA)
    got = {s: len(read(reader, task_dir, s, spec.labels, tmp_path)) for s in SPLITS}
    assert got == {"train": expected["train"], "val": expected["dev"], "test": expected["test"]}
    assert sum(got.values()) == 200


def test_dnc_fold_is_selectable(tmp_path):
    _, reader1 = task_reader("aj_def")
    _, reader3 = task_reader("aj_def", FIXTURES, "target.local.fold=3")
    assert reader3.fold == 3
    task_dir = FIXTURES / "aj_def"
    val1 = read(reader1, task_dir, "val", AJ_LABELS, tmp_path)
    val3 = read(reader3, task_dir, "val", AJ_LABELS, tmp_path)
    # Fixture folds: fold f tests chunk f-1 and validates on chunk (f-2) mod 10.
    assert len(val1) == 8 and len(val3) == 3
    assert set(val1["pair_id"]).isdisjoint(val3["pair_id"])
    assert set(val1["label"]) == {0, 1}


def test_aj_score_is_mean_of_accuracy_and_f1_of_acceptable():
    spec, _ = task_reader("aj_def")
    metrics = {name: instantiate(node) for name, node in spec.cfg.metrics.items()}
    # labels: 0 unacceptable, 1 acceptable. preds 1 1 0 0 1, target 1 0 0 1 1:
    # accuracy 3/5 = 0.6; acceptable: TP 2, FP 1, FN 1 -> P 2/3, R 2/3, F1 2/3; score (0.6 + 2/3) / 2.
    preds, target = torch.tensor([1, 1, 0, 0, 1]), torch.tensor([1, 0, 0, 1, 1])
    scores = {name: float(m(preds, target)) for name, m in metrics.items()}
    assert scores["acc"] == pytest.approx(0.6)
    assert scores["f1"] == pytest.approx(2 / 3)
    main = sum(scores[n] for n in spec.main_metric) / len(spec.main_metric)
    assert main == pytest.approx((0.6 + 2 / 3) / 2)


# ----- bad input -------------------------------------------------------------------------------
def senteval_file(tmp_path: Path, text: str) -> Path:
    task_dir = tmp_path / "se_bshift"
    task_dir.mkdir(exist_ok=True)
    (task_dir / "bigram_shift.txt").write_text(text, encoding="utf-8")
    return task_dir


@pytest.mark.parametrize("text,message", [
    ("tr\tO\tA dog .\nxx\tO\tA cat .\n", r"bigram_shift.txt:2: partition 'xx'"),
    ("tr\tO\tA dog .\ntr\tO\n", r"bigram_shift.txt:2: expected 3 tab-separated columns .* found 2"),
    ("tr\tO\tA dog .\ntr\tO\tA\tcat .\n", r"bigram_shift.txt:2: expected 3 .* found 4"),
    ("tr\tO\tA dog .\ntr\tX\tA cat .\n", r"bigram_shift.txt:2: label 'X' is not one of"),
])  # fmt: skip
def test_senteval_bad_lines(tmp_path, text, message):
    task_dir = senteval_file(tmp_path, text)
    with pytest.raises(DataFormatError, match=message):
        read(SentEvalReader("bigram_shift.txt"), task_dir, "train", ("O", "I"), tmp_path)


def dnc_files(tmp_path: Path, data: list, meta: list) -> Path:
    task_dir = tmp_path / "aj_wh"
    task_dir.mkdir(exist_ok=True)
    (task_dir / "d_data.json").write_text(json.dumps(data), encoding="utf-8")
    (task_dir / "d_metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return task_dir


def dnc_record(pair_id: int, label: str = "acceptable") -> dict:
    return {"context": "Who left ?", "hypothesis": "", "label": label, "pair-id": pair_id}


def dnc_meta(pair_id: int, fold1: str = "train") -> dict:
    return {"misc": {f"fold{f}": fold1 if f == 1 else "train" for f in range(1, 11)}, "pair-id": pair_id}


@pytest.mark.parametrize("data,meta,message", [
    ([dnc_record(1), dnc_record(2)], [dnc_meta(1)], r"d_data.json: holds 2 records but its metadata .*1"),
    ([dnc_record(1), dnc_record(2)], [dnc_meta(1), dnc_meta(3)], r"record 1 has pair-id 2 but .*has 3"),
    ([dnc_record(1, "maybe")], [dnc_meta(1)], r"d_data.json \(record 0\): label 'maybe' is not one of"),
    ([dnc_record(1)], [dnc_meta(1, "holdout")], r"record 0: `misc.fold1` is 'holdout'"),
])  # fmt: skip
def test_dnc_bad_files(tmp_path, data, meta, message):
    task_dir = dnc_files(tmp_path, data, meta)
    reader = DNCAcceptabilityReader("d_data.json", "d_metadata.json")
    with pytest.raises(DataFormatError, match=message):
        read(reader, task_dir, "train", AJ_LABELS, tmp_path)


@pytest.mark.parametrize("fold", [0, 11])
def test_dnc_fold_outside_1_to_10(fold):
    with pytest.raises(ConfigError, match=rf"`local.fold` is {fold}; .* folds 1..10"):
        DNCAcceptabilityReader("d_data.json", "d_metadata.json", fold=fold)
