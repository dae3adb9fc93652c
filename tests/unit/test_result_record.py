"""The result record (stilts.result): one typed writer of result.json in both outcomes, validated when
read; `stilts-analyze` reports a hand-edited record with its path and leaves it out of every table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from torchmetrics.aggregation import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from stilts.analysis import deduplicate, load_results, transfer_matrix
from stilts.result import SCHEMA_VERSION, CellResult, RecordError, metric_range, read_result, record_failure
from stilts.tasks.metrics_classification import MacroF1AllClasses, MatthewsCorrCoef
from tests.helpers import REPO, cli, compose_cfg, offline_env, run_tiny_cell, tiny_overrides

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


def test_finished_and_failed_records_are_written_by_the_typed_record(tmp_path: Path) -> None:
    run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=1"])
    finished = read_result(tmp_path / "run" / "result.json")
    assert finished.status == "finished" and finished.schema == SCHEMA_VERSION
    assert finished.main_range == [0.0, 1.0]  # RTE's accuracy
    assert finished.main == pytest.approx(finished.metrics["acc"])
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=cb", "restart=1"])
    record_failure(tmp_path / "failed", cfg, RuntimeError("boom"))
    failed = read_result(tmp_path / "failed" / "result.json")
    assert (failed.status, failed.task, failed.restart) == ("failed", "cb", 1)
    assert failed.error == "RuntimeError: boom" and failed.cell == cfg.cell_name
    on_disk = json.loads((tmp_path / "failed" / "result.json").read_text())
    assert "main" not in on_disk and on_disk["schema"] == SCHEMA_VERSION  # unknown values are left out


def test_stilts_analyze_reports_and_leaves_out_hand_edited_records(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(SWEEP, sweep)
    files = sorted(p for p in sweep.rglob("result.json") if json.loads(p.read_text())["status"] == "finished")
    edits = {files[0]: 37.5, files[1]: "abc", files[2]: -0.2}  # percent, text, an accuracy below 0
    for path, value in edits.items():
        record = json.loads(path.read_text())
        path.write_text(json.dumps(record | {"main": value}))
    done = subprocess.run(
        cli("analyze", f"source={sweep}", f"out={tmp_path / 'out'}", "bootstrap.resamples=0"),
        env=offline_env() | {"MPLBACKEND": "Agg", "WANDB_MODE": "offline"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "3 invalid result record(s) left out" in output
    for path in edits:
        assert f"left out of the analysis: {path}" in output  # reported with its path as it is read
    invalid = pd.read_csv(tmp_path / "out" / "invalid_records.csv")["record"]
    assert sorted(line.split(":")[0] for line in invalid) == sorted(map(str, edits))
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Invalid records (left out)" in report and str(files[0]) in report
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert not set(runs["path"]) & {str(p.parent) for p in edits}
    # The matrix is the one of the sweep without those three cells.
    for path in edits:
        path.unlink()
    kept, _ = deduplicate(load_results(sweep))
    assert len(runs) == len(kept)
    matrix = pd.read_csv(tmp_path / "out" / "transfer_matrix.csv", index_col=0)
    expected = transfer_matrix(kept)
    pd.testing.assert_frame_equal(matrix, expected.round(6) + 0.0, check_names=False, check_dtype=False)
