"""The command line as a user runs it: `stilts-train` cells with the intermediate cache."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers import REPO, cli, offline_env, tiny_overrides


def stilts_train(tmp_path: Path, *overrides: str) -> dict:
    env = offline_env()
    command = cli("train", *tiny_overrides(tmp_path, output_dir=tmp_path / "out", logger="csv"), *overrides)
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    newest = max((tmp_path / "out" / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return json.loads((newest / "result.json").read_text())


def test_cells_from_the_command_line_share_the_cached_intermediate(tmp_path) -> None:
    first = stilts_train(tmp_path, "task@intermediate=rte", "task@target=cb")
    assert first["task"] == "cb" and first["main_metric"] == ["f1_macro"]
    assert first["encoder_source"]["trained_now"] is True
    second = stilts_train(tmp_path, "task@intermediate=rte", "task@target=sst2")
    assert second["encoder_source"]["trained_now"] is False
    assert second["encoder_source"]["cache_key"] == first["encoder_source"]["cache_key"]


def test_bad_input_exits_with_a_message(tmp_path) -> None:
    env = offline_env()
    nowhere = tiny_overrides(tmp_path, tmp_path / "nothing", output_dir=tmp_path / "out")
    command = cli("train", *nowhere, "task@target=rte", "data.source=local")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 2
    assert "no data folder at" in done.stderr + done.stdout
