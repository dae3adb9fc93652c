"""A reduced `make demo`: data, MLM pre-training, a small study and its analysis; reproducible."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import REPO, cli

REDUCED = [
    "--sentences",
    "3000",
    "--restarts",
    "0",
    "--mlm-epochs",
    "1",
    "--target-examples",
    "400",
    "task@intermediate=none,demo_subjnum",
    "task@target=demo_agree,aj_def",
]


def run_demo(out) -> None:
    done = subprocess.run(
        [*cli("demo"), "--out", str(out), *REDUCED],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "report.md" in done.stderr


@pytest.mark.slow
def test_reduced_demo_runs_end_to_end_and_reproduces(tmp_path) -> None:
    run_demo(tmp_path / "a")
    report = tmp_path / "a" / "report"
    assert (report / "report.md").is_file()
    transfer = sorted(report.glob("*transfer*.csv"))
    assert transfer and list(report.glob("*.png"))
    first = transfer[0].read_text()
    assert "demo_subjnum" in first and "demo_agree" in first

    run_demo(tmp_path / "b")  # same seeds, fresh folder: the same numbers
    assert (tmp_path / "b" / "report" / transfer[0].name).read_text() == first
