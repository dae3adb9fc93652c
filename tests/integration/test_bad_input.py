"""Bad input stops with an error that names the file and line, and leaves nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stilts.errors import DataFormatError, MissingDataError
from tests.helpers import FIXTURES, run_tiny_cell


def copy_task(tmp_path: Path, task: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / task, data / task)
    return data


def corrupt_line(path: Path, line_number: int, text: str | bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line_number - 1] = (text.encode() if isinstance(text, str) else text) + b"\n"
    path.write_bytes(b"".join(lines))


CASES = [
    ("rte", "train.jsonl", 3, '{"premise": "a", "hypothesis": ', "train.jsonl:3: invalid JSON"),
    (
        "rte",
        "train.jsonl",
        5,
        '{"premise": "a", "label": "entailment"}',
        "train.jsonl:5: missing field `hypothesis`",
    ),
    (
        "rte",
        "val.jsonl",
        2,
        '{"premise": "a", "hypothesis": "b", "label": "maybe"}',
        "val.jsonl:2: label 'maybe'",
    ),
    ("sst2", "train.tsv", 4, "too\tmany\tcolumns", "train.tsv:4: expected 2 tab-separated columns, found 3"),
    ("aj_cola", "train.tsv", 6, "gj04\t7\t\tA sentence.", "train.tsv:6: label '7' is not one of"),
    (
        "rte",
        "train.jsonl",
        7,
        b'{"premise": "caf\xe9", "hypothesis": "b", "label": "entailment"}',
        "train.jsonl:7: bytes",
    ),
]


@pytest.mark.parametrize(("task", "file", "line", "text", "message"), CASES)
def test_malformed_file_names_file_and_line(tmp_path, task, file, line, text, message) -> None:
    data = copy_task(tmp_path, task)
    corrupt_line(data / task / file, line, text)
    with pytest.raises(DataFormatError, match=message.replace("`", ".").replace("[", ".")):
        run_tiny_cell(tmp_path, [f"task@target={task}"], data_dir=data)
    assert not (tmp_path / "run" / "result.json").exists()


def test_empty_split(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    (data / "rte" / "val.jsonl").write_text("\n")
    with pytest.raises(DataFormatError, match="val.jsonl: split `val` holds no examples"):
        run_tiny_cell(tmp_path, ["task@target=rte"], data_dir=data)


def test_missing_data_says_where_it_looked(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    (data / "rte" / "train.jsonl").unlink()
    with pytest.raises(MissingDataError, match=r"no file at .*rte/train.jsonl.*super.gluebenchmark"):
        run_tiny_cell(tmp_path, ["task@target=rte"], data_dir=data)


def test_missing_folder_without_hub_offline(tmp_path) -> None:
    with pytest.raises(MissingDataError, match="no data folder at"):
        run_tiny_cell(tmp_path, ["task@target=rte", "data.source=local"], data_dir=tmp_path / "empty")


def test_unreachable_hub_names_the_local_folder_and_the_dataset(tmp_path, monkeypatch) -> None:
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'aps/super_glue' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr("stilts.tasks.readers.datasets.load_dataset", offline)
    pattern = r"no local folder at .*empty/rte, and the Hub dataset aps/super_glue could not be loaded"
    with pytest.raises(MissingDataError, match=pattern):
        run_tiny_cell(tmp_path, ["task@target=rte"], data_dir=tmp_path / "empty")


def test_unused_test_split_may_be_absent(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    (data / "rte" / "test.jsonl").unlink()
    assert (
        run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=1"], data_dir=data)["task"] == "rte"
    )


def test_failed_intermediate_leaves_no_cache_entry(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    shutil.copytree(FIXTURES / "cb", data / "cb")
    corrupt_line(data / "cb" / "train.jsonl", 2, "not json")
    with pytest.raises(DataFormatError):
        # CB is the intermediate here: its data fails while the intermediate stage reads it.
        run_tiny_cell(tmp_path, ["task@intermediate=cb", "task@target=rte"], data_dir=data)
    cache = tmp_path / "cache" / "intermediate"
    assert not [p for p in cache.iterdir() if not p.name.endswith(".lock")] if cache.exists() else True
    assert not (tmp_path / "run" / "result.json").exists()
