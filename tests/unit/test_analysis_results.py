"""Results loading: run folders, real offline W&B runs, the W&B API (faked), duplicates, predictions."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stilts.analysis import deduplicate, load_results, read_offline_run, read_predictions, records_to_frame
from stilts.analysis.results import ResultsError
from tests.fixtures.analysis.offline_wandb import mirror_as_offline_runs

SWEEP = Path(__file__).resolve().parents[1] / "fixtures" / "analysis" / "sweep"
SORT = ["intermediate", "task", "restart", "intermediate_train_size", "status"]


@pytest.fixture(autouse=True)
def offline_wandb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep wandb off the network and out of the home folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """The record content only (not where it came from), in a stable order."""
    drop = ["path", "predictions", "created"]
    return frame.drop(columns=drop).sort_values(SORT).reset_index(drop=True)


def test_folder_source_reads_every_record() -> None:
    frame = load_results(SWEEP)
    assert len(frame) == 61
    assert {
        "intermediate",
        "task",
        "role",
        "restart",
        "seed",
        "lr",
        "dropout",
        "main",
        "metric/acc",
        "degenerate",
        "nan_loss",
        "status",
        "error",
        "intermediate_train_size",
        "path",
    } <= set(frame.columns)
    failed = frame[frame["status"] == "failed"]
    assert (
        len(failed) == 1
        and failed["error"].iloc[0].startswith("RuntimeError")
        and failed["main"].isna().all()
    )
    assert frame["intermediate_train_size"].notna().sum() == 12
    assert frame.loc[frame["status"] == "finished", "predictions"].notna().all()


def test_duplicates_are_listed_and_the_newest_kept() -> None:
    kept, dropped = deduplicate(load_results(SWEEP))
    assert len(kept) == 60 and len(dropped) == 1
    row = dropped.iloc[0]
    assert (row["intermediate"], row["task"], row["restart"]) == ("mnli", "rte", 0)
    assert row["path"].endswith("2026-01-01/12-00-00/12") and row["kept_path"].endswith(
        "2026-01-02/09-00-00/0"
    )


def test_finished_record_wins_over_a_newer_failure() -> None:
    base = {"intermediate": "mnli", "task": "rte", "restart": 0, "hparams": {"lr": 1e-5, "dropout": 0.1}}
    frame = records_to_frame(
        [base | {"cell": "a", "main": 0.7}, base | {"cell": "b", "status": "failed", "error": "x"}]
    )
    kept, dropped = deduplicate(frame)
    assert kept["status"].tolist() == ["finished"] and dropped["path"].tolist() == ["b"]


def test_missing_source_and_bad_records_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="does not exist"):
        load_results(tmp_path / "nope")
    with pytest.raises(ResultsError, match="no result records"):
        load_results(tmp_path)
    (tmp_path / "cell").mkdir()
    (tmp_path / "cell" / "result.json").write_text('{"task": "rte"}')
    with pytest.raises(ResultsError, match=r"1 left out .*cell/result.json: finished .* lacks key"):
        load_results(tmp_path)


def test_read_predictions(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    rows = [
        {"idx": 1, "preds": 0, "target": 0},
        {"idx": 0, "preds": 2, "target": 1},
        {"idx": 2, "preds": [1, 0], "target": [1, 0]},
        {"idx": 3, "preds": "a", "target": ["a", "b"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = read_predictions(path)
    assert got.index.tolist() == [0, 1, 2, 3]
    assert got.iloc[:3].tolist() == [0.0, 1.0, 1.0] and np.isnan(got.iloc[3])
    path.write_text('{"idx": 0, "preds": 1}\n')
    with pytest.raises(ResultsError, match=r"predictions.jsonl:1"):
        read_predictions(path)


def test_offline_wandb_runs_give_the_same_records(tmp_path: Path) -> None:
    # A slice of the fixture is enough here (test_analysis_cli mirrors all of it): the duplicate pair,
    # the failed cell, a size-curve run and a probing run.
    only = (
        "2026-01-01/12-00-00/12",
        "2026-01-02/09-00-00/0",
        "2026-01-02/09-00-00/1",
        "2026-01-03/10-00-00/0",
        "2026-01-01/12-00-00/6",
    )
    offline = mirror_as_offline_runs(SWEEP, tmp_path / "wb", only)
    frame = load_results(offline)
    folder = load_results(SWEEP)
    folder = folder[[str(Path(p).relative_to(SWEEP)) in only for p in folder["path"]]]
    pd.testing.assert_frame_equal(comparable(frame), comparable(folder))
    assert frame.loc[frame["status"] == "finished", "predictions"].notna().all()
    kept, dropped = deduplicate(frame)
    assert "2026-01-02" in dropped["kept_path"].iloc[0]  # the same duplicate is kept as from the folder


def wait_for_exit_record(folder: Path, timeout_s: float = 30.0) -> None:
    """W&B's writer process may still be appending to an offline run's log after `finish()` returns
    (seen on a loaded machine): wait for its final `exit` record before reading the log."""
    import time

    from wandb.proto import wandb_internal_pb2 as pb

    from stilts.analysis.wandb_source import iter_log_records

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for payload in iter_log_records(next(folder.glob("*.wandb"))):
            record = pb.Record()
            record.ParseFromString(payload)
            if record.WhichOneof("record_type") == "exit":
                return
        time.sleep(0.1)
    raise AssertionError(f"{folder}: no exit record after {timeout_s} s")


def test_offline_reader_replays_multi_block_logs(tmp_path: Path) -> None:
    import wandb

    big = {
        "cell": "x",
        "intermediate": "none",
        "task": "rte",
        "restart": 0,
        "main": 0.5,
        "blob": "y" * 100_000,
    }
    run = wandb.init(
        mode="offline",
        dir=tmp_path,
        job_type="target",
        group="rte",
        name="x__target",
        config={"lr": 1e-5},
        reinit="create_new",
    )
    run.summary["result"] = {"main": 0.1}
    run.summary["result"] = big  # the later update wins, as in the W&B UI
    run.finish()
    (folder,) = (tmp_path / "wandb").glob("offline-run-*")
    wait_for_exit_record(folder)
    got = read_offline_run(folder)
    assert (got.job_type, got.group, got.name) == ("target", "rte", "x__target")
    assert got.summary["result"] == big and got.config["lr"] == 1e-5


class FakeApi:
    """Just enough of wandb.Api for `runs(path)`."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records

    def runs(self, path: str) -> list[SimpleNamespace]:
        assert path == "ent/proj"
        runs = [
            SimpleNamespace(
                job_type=r["role"],
                name=r["cell"],
                path=["ent", "proj", f"id{i}"],
                created_at=f"2026-01-01T00:00:{i:02d}",
                summary={"result": r},
            )
            for i, r in enumerate(self.records)
        ]
        runs.append(SimpleNamespace(job_type="intermediate", name="i", path=["ent", "proj", "i"], summary={}))
        runs.append(SimpleNamespace(job_type="target", name="crashed", path=["ent", "proj", "c"], summary={}))
        return runs


def test_wandb_api_source(tmp_path: Path) -> None:
    records = [json.loads(p.read_text()) for p in sorted(SWEEP.rglob("result.json"))]
    frame = load_results("wandb:ent/proj", api=FakeApi(records))
    pd.testing.assert_frame_equal(comparable(frame), comparable(load_results(SWEEP)))
    assert frame["path"].str.startswith("wandb:ent/proj/").all() and frame["predictions"].isna().all()
    with pytest.raises(ResultsError, match="ENTITY/PROJECT"):
        load_results("wandb:justproject", api=FakeApi([]))
