"""Every file of the full real datasets (../shared/realdata/full, beside the repository) reads with the
local reader of its task, with the row counts its README states; skipped where that folder is absent
(a user's clone), a failure in CI (`STILTS_REQUIRE_SHARED=1`, tests/conftest.py).

Also the malformed-input rules that the real files motivated: judgement checks (a WiC span inside a
contraction) warn and count, malformed JSON (a duplicated key, runaway nesting) is refused with file
and line.
"""

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


# ----- malformed input, found while reading the real files (no ../shared needed) ----------------------


