"""A cell on unlabelled training data stops before training, naming the file. (Readers:
tests/unit/test_bad_input_data.py.)"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stilts.errors import DataFormatError
from tests.helpers import (
    FIXTURES,
    run_tiny_cell,
)

Edit = Callable[[Path], None]


def copy_task(tmp_path: Path, task: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / task, data / task)
    return data


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_rows(path: Path, objs: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))


def drop_labels(file: str, keep: int = 0) -> Edit:
    def apply(task_dir: Path) -> None:
        objs = rows(task_dir / file)
        for obj in objs[keep:]:
            obj.pop("label")
        write_rows(task_dir / file, objs)

    return apply


# fmt: on


# fmt: on


# fmt: on


@pytest.mark.parametrize(("file", "message"), [
    ("train.jsonl", "split `train` has no gold labels"),
    ("val.jsonl", "split `val`: 10 of its 10 examples have no gold label"),
])  # fmt: skip
def test_a_cell_on_unlabelled_data_stops_before_training(tmp_path, file, message) -> None:
    data = copy_task(tmp_path, "rte")
    drop_labels(file)(data / "rte")
    with pytest.raises(DataFormatError, match=re.escape(message)):
        run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=1"], data_dir=data)
    assert not (tmp_path / "run" / "result.json").exists()
