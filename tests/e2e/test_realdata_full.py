"""`stilts-data` reads the full WiC files of ../shared/realdata/full and shows the count; skipped where
that folder is absent, a failure in CI (`STILTS_REQUIRE_SHARED=1`, tests/conftest.py)."""

from __future__ import annotations

import subprocess

from tests.helpers import REALDATA, cli, needs_realdata, offline_env

FULL = REALDATA / "full"


@needs_realdata
def test_stilts_data_reads_wic_and_shows_the_count(tmp_path) -> None:
    done = subprocess.run(
        cli("data", "task=wic", "model=tiny", f"paths.data_dir={FULL}", f"paths.cache_dir={tmp_path}"),
        capture_output=True, text=True, env=offline_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "train: 5428 examples" in done.stdout and "val: 638 examples" in done.stdout
    assert "flagged, spans that may not mark the word" in done.stdout
