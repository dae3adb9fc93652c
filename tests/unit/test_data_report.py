"""`stilts-data` reports what the files hold; real excerpts read with the right counts and labels."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.report import data_report
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata


def datamodule_for(task: str, data_dir: Path, cache_dir: Path) -> TaskDataModule:
    cfg = compose_cfg([f"task={task}"], config_name="data")
    return TaskDataModule(TaskSpec.from_config(cfg.task), load_tokenizer(cfg.model), data_dir, cache_dir)


def test_text_report_and_missing_split(tmp_path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "rte", data / "rte")
    (data / "rte" / "test.jsonl").unlink()
    report = data_report(datamodule_for("rte", data, tmp_path / "cache"), ["train", "val", "test"])
    assert report["splits"]["test"]["available"] is False
    assert "test.jsonl" in report["splits"]["test"]["reason"]


def test_second_preparation_reuses_the_arrow_cache(tmp_path, monkeypatch) -> None:
    first = datamodule_for("mnli", FIXTURES, tmp_path)
    features = first.featurized("val")
    assert len(features) == 12  # matched + mismatched dev concatenated

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized again")

    second = datamodule_for("mnli", FIXTURES, tmp_path)
    monkeypatch.setattr(type(second.featurizer), "encode", no_tokenizing)
    again = second.featurized("val")
    assert again.cache_files == features.cache_files and again["input_ids"] == features["input_ids"]


@needs_realdata
@pytest.mark.parametrize(
    ("task", "files", "count", "labels"),
    [
        ("boolq", {"train.jsonl": "train.jsonl"}, 32, None),
        ("cb", {"train.jsonl": "train.jsonl"}, 32, None),
        ("sst2", {"dev.tsv": "dev.tsv", "train.tsv": "dev.tsv"}, 200, None),
    ],
)
def test_real_excerpts(tmp_path, task, files, count, labels) -> None:
    task_dir = tmp_path / "data" / task
    task_dir.mkdir(parents=True)
    for name, source in files.items():
        (task_dir / name).symlink_to(REALDATA / task / source)
    datamodule = datamodule_for(task, tmp_path / "data", tmp_path / "cache")
    raw = datamodule.read_split("train")
    assert len(raw) == count
    source = REALDATA / task / next(iter(files.values()))
    if source.suffix == ".jsonl":
        gold = [json.loads(line)["label"] for line in source.read_text().splitlines() if line.strip()]
        expected = Counter(str(g).lower() if isinstance(g, bool) else g for g in gold)
    else:
        gold = [line.split("\t")[1] for line in source.read_text().splitlines()[1:]]
        expected = Counter({"0": "negative", "1": "positive"}[g] for g in gold)
    names = datamodule.spec.labels
    assert Counter(names[i] for i in raw["label"]) == expected
