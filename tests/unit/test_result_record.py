"""The result record (stilts.result): one writer of result.json, validated when read, bad records named
with their file. (Records written by a cell: tests/integration; `stilts-analyze` on hand-edited
records: tests/e2e/test_result_record.py.)"""

from __future__ import annotations

import re

import pytest
from torchmetrics.aggregation import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from stilts.result import SCHEMA_VERSION, CellResult, RecordError, metric_range, read_result
from stilts.tasks.metrics_classification import MacroF1AllClasses, MatthewsCorrCoef
from tests.helpers import REPO

SWEEP = REPO / "tests" / "fixtures" / "analysis" / "sweep"
BASE = {"intermediate": "mnli", "task": "rte", "restart": 0, "main": 0.7}


@pytest.mark.parametrize(
    ("edit", "fault"),
    [
        ({"main": 37.5}, r"`main` is 37.5, outside its metric's range \[-1.0, 1.0\]"),
        ({"main": "abc"}, r"`main` is 'abc'; expected a number"),
        ({"main": float("nan")}, r"no finite 'main' score"),
        ({"main": True}, r"`main` is True; expected a number"),
        ({"schema": SCHEMA_VERSION + 1}, rf"newer stilts \(schema {SCHEMA_VERSION + 1}\)"),
        ({"schema": "2"}, r"`schema` is '2'"),
        ({"restart": "0"}, r"`restart` is '0'; expected a whole number"),
        ({"restart": -1}, r"`restart` is -1"),
        ({"status": "done"}, r"`status` is 'done'"),
        ({"hparams": {"lr": "fast"}}, r"`hparams.lr` is 'fast'"),
        ({"metrics": {"acc": [1]}}, r"`metrics.acc` is \[1\]"),
        ({"main_metric": ["acc"], "metrics": {"acc": 0.6}}, r"its metrics \['acc'\] give 0.6"),
        ({"schema": 3, "main_range": [0.0, 1.0], "main": 1.2}, r"outside its metric's range \[0.0, 1.0\]"),
        ({"schema": 3, "main_range": [0.0, 1.0], "main": -0.1}, r"outside"),
        ({"intermediate": None}, r"lacks key\(s\) \['intermediate'\]"),
    ],
)
def test_a_bad_record_is_refused_naming_its_file(edit: dict, fault: str) -> None:
    with pytest.raises(RecordError, match=r"^cell/result.json: .*" + fault):
        CellResult.from_dict(BASE | edit, "cell/result.json")


def test_records_of_every_schema_are_read() -> None:
    for path in SWEEP.rglob("result.json"):  # schema 1, as the first stilts wrote them
        assert read_result(path).schema == 1
    assert CellResult.from_dict(BASE, "x").schema == 0  # no `schema` key: version 0, same rules
    mcc = BASE | {"schema": 3, "main": -0.3, "main_range": [-1.0, 1.0]}  # below chance: a valid MCC
    assert CellResult.from_dict(mcc, "x").main == -0.3
    unknown = BASE | {"schema": 3, "main": 5.0}  # a metric of unknown range: only finiteness is checked
    assert CellResult.from_dict(unknown, "x").main == 5.0
    assert CellResult.from_dict(BASE | {"note": "kept by hand"}, "x").task == "rte"  # unknown keys ignored


def test_metric_ranges_follow_the_metric_classes() -> None:
    assert metric_range(MatthewsCorrCoef()) == (-1.0, 1.0)
    assert metric_range(MulticlassAccuracy(num_classes=3)) == (0.0, 1.0)
    assert metric_range(MacroF1AllClasses(num_classes=3)) == (0.0, 1.0)
    assert metric_range(MeanMetric()) is None


def test_result_json_has_one_writer() -> None:
    """Only stilts/result.py names the file or writes it (`grep` finds no other writer)."""
    writes = re.compile(r"(write_atomic|write_text|open|dump)\([^)]*\bRESULT\b")
    for path in (REPO / "stilts").rglob("*.py"):
        text = path.read_text()
        if path.name == "result.py":
            assert writes.search(text) is None and "write_atomic(path, text)" in text
            continue
        assert '"result.json"' not in text, path
        assert writes.search(text) is None, path
