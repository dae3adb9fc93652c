"""A cell on unlabelled training data stops before training, naming the file. (Readers:
tests/unit/test_bad_input_data.py.)"""

from __future__ import annotations

import re

import pytest

from stilts.errors import DataFormatError
from tests.helpers import run_tiny_cell
from tests.unit.test_bad_input_data import copy_task, drop_labels


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
