"""`stilts-analyze` reports a hand-edited record with its path and leaves it out of every table."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from stilts.analysis import deduplicate, load_results, transfer_matrix
from tests.helpers import REPO, cli, offline_env

SWEEP = REPO / "tests" / "fixtures" / "analysis" / "sweep"


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
