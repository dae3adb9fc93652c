"""`stilts-data --json` as a subprocess matches the fixture files. (In process:
tests/unit/test_data_report.py.)"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

from tests.helpers import FIXTURES, REPO, cli, offline_env


def test_stilts_data_json_matches_the_files(tmp_path) -> None:
    env = offline_env()
    command = [
        *cli("data"),
        "task=rte",
        f"paths.data_dir={FIXTURES}",
        f"paths.cache_dir={tmp_path}",
        "format=json",
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=True).stdout
    report = json.loads(out)
    assert report["task"] == "rte" and set(report["splits"]) == {"train", "val", "test"}
    for split, file in (("train", "train.jsonl"), ("val", "val.jsonl")):
        rows = [json.loads(line) for line in (FIXTURES / "rte" / file).read_text().splitlines()]
        assert report["splits"][split]["examples"] == len(rows)
        assert report["splits"][split]["labels"] == dict(Counter(r["label"] for r in rows))
    test = report["splits"]["test"]
    assert test["examples"] == 4 and test["labels"] == {"<unlabeled>": 4}
    assert 0 <= report["splits"]["train"]["truncated_share"] <= 1
    assert report["splits"]["train"]["tokens"]["p50"] > 5
