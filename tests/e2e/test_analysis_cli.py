"""`stilts-analyze` end to end on the fixture sweep, its offline W&B mirror, a tiny grid and the paper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.analysis.offline_wandb import mirror_as_offline_runs

SWEEP = Path(__file__).resolve().parents[1] / "fixtures" / "analysis" / "sweep"
FIGURE2 = Path(__file__).resolve().parents[3] / "shared" / "paper" / "figure2.csv"
FIGURES = ["transfer_matrix", "size_curves"] + [
    f"correlation_{kind}_{method}"
    for kind in ("probing_target", "target_target")
    for method in ("spearman", "pearson")
]
TABLES = [
    "transfer_matrix",
    "transfer_bootstrap",
    "restart_counts",
    "size_curves",
    "degenerate_counts",
    "runs",
    "failed_runs",
    "duplicates",
    "degenerate_runs",
] + [f"{fig}{suffix}" for fig in FIGURES[2:] for suffix in ("", "_pvalues", "_pairs")]
SAME = [t for t in TABLES if t not in ("runs", "failed_runs", "duplicates", "degenerate_runs")]  # no paths


def analyze(cwd: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed console script offline in `cwd`."""
    env = os.environ | {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
    }
    exe = Path(sys.executable).with_name("stilts-analyze")
    proc = subprocess.run(
        [str(exe), *overrides], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_writes_every_figure_table_and_the_report(tmp_path: Path) -> None:
    proc = analyze(tmp_path, f"source={SWEEP}", "out=out", "bootstrap.resamples=200")
    out = tmp_path / "out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # Hydra leaves nothing else behind
    for stem in FIGURES:
        for fmt in ("png", "pdf"):
            assert (out / f"{stem}.{fmt}").stat().st_size > 1000, stem
    for table in TABLES:
        assert (out / f"{table}.csv").is_file(), table
    report = (out / "report.md").read_text()
    for stem in FIGURES:
        assert f"]({stem}.png)" in report
    assert "records read: 61" in report and "2 restart(s): 1 cell(s), 3 restart(s): 15 cell(s)" in report
    assert "CUDA out of memory" in report and "**Duplicates** (1 records dropped" in report
    assert "analysis written to out" in proc.stdout
    matrix = pd.read_csv(out / "transfer_matrix.csv", index_col="task")
    assert list(matrix.index) == ["cb", "rte", "avg_target", "ep_pos", "aj_cola"]
    assert list(matrix.columns) == ["baseline", "sst2", "qqp", "mnli"]


def test_offline_wandb_source_gives_the_same_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))
    offline = mirror_as_offline_runs(SWEEP, tmp_path / "wb")
    analyze(tmp_path, f"source={SWEEP}", "out=from_folder", "bootstrap.resamples=100")
    analyze(tmp_path, f"source={offline}", "out=from_wandb", "bootstrap.resamples=100")
    for table in SAME:
        a = pd.read_csv(tmp_path / "from_folder" / f"{table}.csv")
        b = pd.read_csv(tmp_path / "from_wandb" / f"{table}.csv")
        pd.testing.assert_frame_equal(a, b, obj=table)


def test_small_grid_skips_what_it_cannot_draw(tmp_path: Path) -> None:
    # One target, no probing task, no predictions; mnli also has a run at another lr (not the same cell).
    for inter, main, lr in (("none", 0.6, 1e-5), ("mnli", 0.7, 1e-5), ("mnli", 0.8, 2e-5)):
        folder = tmp_path / "sweep" / f"{inter}_{lr}"
        folder.mkdir(parents=True)
        record = {
            "intermediate": inter,
            "task": "rte",
            "role": "target",
            "restart": 0,
            "main": main,
            "status": "finished",
            "hparams": {"lr": lr, "dropout": 0.1},
            "metrics": {"acc": main},
        }
        (folder / "result.json").write_text(json.dumps(record))
    proc = analyze(tmp_path, "source=sweep", "out=out")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "size curves skipped" in report and "note: size curves skipped" in proc.stdout
    assert "No bootstrap markers" in report and (tmp_path / "out" / "transfer_matrix.png").is_file()
    # The two lrs are two rows, never averaged: lr 1e-05 has its baseline, lr 2e-05 has none.
    assert "**Settings**: 1 task(s) ran under several settings" in report
    matrix = pd.read_csv(tmp_path / "out" / "transfer_matrix.csv", index_col="task")
    assert matrix.at["rte [lr=1e-05]", "mnli"] == pytest.approx(10.0)
    assert np.isnan(matrix.at["rte [lr=2e-05]", "mnli"]) and np.isnan(matrix.at["rte [lr=2e-05]", "baseline"])


def test_bad_or_missing_source_exits_with_the_key_or_path(tmp_path: Path) -> None:
    proc = analyze(tmp_path, "source=missing_folder", check=False)
    assert (
        proc.returncode == 2 and "missing_folder: results source does not exist" in proc.stdout + proc.stderr
    )
    proc = analyze(tmp_path, check=False)
    assert proc.returncode == 2 and "source: missing" in proc.stdout + proc.stderr


@pytest.mark.skipif(not FIGURE2.is_file(), reason="../shared/paper/figure2.csv is absent")
def test_paper_source_renders_figure2(tmp_path: Path) -> None:
    analyze(tmp_path, f"source=paper:{FIGURE2}", "out=paper")
    matrix = pd.read_csv(tmp_path / "paper" / "transfer_matrix.csv", index_col="task")
    assert matrix.shape == (36, 12) and matrix.at["cb", "qqp"] == -31.0
    assert (tmp_path / "paper" / "transfer_matrix.pdf").is_file() and (
        tmp_path / "paper" / "report.md"
    ).is_file()
