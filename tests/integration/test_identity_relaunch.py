"""Work of an older key version is named, not reused and not retrained silently (issue 21). (Relaunch
from another checkout or a wheel: tests/e2e/test_identity_relaunch.py.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from stilts.identity import KEY_VERSION
from stilts.plan import plan, summary
from tests.helpers import run_tiny_cell, tiny_overrides


@pytest.mark.slow
def test_work_of_an_older_key_version_is_named_not_reused(tmp_path: Path, caplog) -> None:
    cell = ["task@intermediate=cb", "task@target=rte", "+trainer.max_steps=2"]
    arguments = [*tiny_overrides(tmp_path, output_dir=tmp_path / "out"), *cell]
    (job,) = plan(arguments)
    result = run_tiny_cell(tmp_path, cell, run_name=str(job.run_dir.relative_to(tmp_path)))
    # Make it look like version 1's work: another hash in the run dir's name and no key version in
    # the result; the cache entry under another key, its material without a version.
    old_dir = job.run_dir.with_name(job.run_dir.name.rsplit("__", 1)[0] + "__0ld0ld00")
    job.run_dir.rename(old_dir)
    record = json.loads((old_dir / "result.json").read_text())
    del record["identity"]["key_version"]
    (old_dir / "result.json").write_text(json.dumps(record))
    entry = Path(result["encoder_source"]["path"]).parent
    meta = json.loads((entry / "meta.json").read_text())
    meta["material"] = {"task": "cb", "seed": meta["material"]["seed"]}
    (entry / "meta.json").write_text(json.dumps(meta))
    old_entry = entry.rename(entry.with_name("0" * 24))

    (job,) = plan(arguments)
    assert job.status == "to run" and job.older_results == (old_dir,) and job.older_encoders == (old_entry,)
    assert f"older key version (stilts.identity.KEY_VERSION {KEY_VERSION}): 1 cells" in summary([job])
    with caplog.at_level(logging.WARNING):
        rerun = run_tiny_cell(tmp_path, cell, run_name=str(job.run_dir.relative_to(tmp_path)))
    assert rerun["encoder_source"]["trained_now"]
    assert str(old_dir) in caplog.text and str(old_entry) in caplog.text
    # The old run moves aside like any superseded run (the analysis reads the new one only); the old
    # cache entry stays.
    assert not (old_dir / "result.json").exists() and old_entry.is_dir()
    (moved,) = (old_dir.parent / ".superseded").glob(f"{old_dir.name}-*/result.json")
    assert "key_version" not in json.loads(moved.read_text())["identity"]
