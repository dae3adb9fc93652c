"""stilts-rank in process on the fixtures with the tiny model: semb needs no training and counts
sequences; refusals name the task and the fix. (The command: tests/e2e/test_rank_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from stilts.cell import Cell, resolve_cell
from stilts.rank.features import RankError
from stilts.rank.methods import RankSettings, rank
from tests.helpers import compose_cfg, tiny_overrides


def _cell(tmp_path: Path, target: str, candidate: str = "none") -> Cell:
    """The cell stilts-rank resolves for `target` after `candidate` (as stilts.rank.cli.composer)."""
    cfg = compose_cfg(
        [*tiny_overrides(tmp_path), f"task@target={target}", f"task@intermediate={candidate}"],
        config_name="rank",
    )
    return resolve_cell(cfg, check=False)


def settings() -> RankSettings:
    """rank.yaml's `rank` settings, as stilts-rank reads them."""
    return RankSettings.from_node(compose_cfg(config_name="rank").rank)


def test_semb_needs_no_training_and_counts_sequences(tmp_path: Path) -> None:
    cell = _cell(tmp_path, "demo_agree")
    candidates = ["demo_localagree", "demo_tense", "sst2"]
    memo: dict = {}
    ranking = rank(
        "semb", cell, settings(), candidates, lambda c: _cell(tmp_path, "demo_agree", c), tmp_path, memo
    )
    assert not (tmp_path / "cache" / "intermediate").exists() or not any(
        (tmp_path / "cache" / "intermediate").iterdir()
    )
    data = Path(cell.paths.data_dir)

    def senteval_train_rows(task: str) -> int:
        return sum(row.startswith("tr\t") for f in (data / task).glob("*.txt") for row in f.open())

    sst2_rows = len((data / "sst2" / "train.tsv").read_text().splitlines()) - 1  # minus the header
    expected = (
        sum(senteval_train_rows(t) for t in ("demo_agree", "demo_localagree", "demo_tense")) + sst2_rows
    )
    assert ranking.cost.sequences == expected
    assert all(-1.0 <= s <= 1.0 for s in ranking.scores.values())
    assert ranking.cost.trained == []
    # A second target shares the candidates' embeddings: only its own examples are read.
    again = rank(
        "semb",
        _cell(tmp_path, "demo_question"),
        settings(),
        candidates[:1],
        lambda c: _cell(tmp_path, "demo_question", c),
        tmp_path,
        memo,
    )
    assert again.cost.sequences == senteval_train_rows("demo_question")


def test_refusals_name_the_task_and_the_fix(tmp_path: Path) -> None:
    cell = _cell(tmp_path, "qamr")
    with pytest.raises(RankError, match="task `qamr`.*extractive QA.*method=semb"):
        rank("logme", cell, settings(), ["sst2"], lambda c: _cell(tmp_path, "qamr", c), tmp_path)
    with pytest.raises(RankError, match="`candidates` holds `none`"):
        rank("semb", cell, settings(), ["none", "sst2"], lambda c: _cell(tmp_path, "qamr", c), tmp_path)
    with pytest.raises(RankError, match=r"`candidates` names unknown task\(s\) \['nosuchtask'\]"):
        rank("semb", cell, settings(), ["sst2", "nosuchtask"], lambda c: _cell(tmp_path, "qamr", c), tmp_path)
    with pytest.raises(RankError, match="`method` is 'magic'"):
        rank("magic", cell, settings(), ["sst2"], lambda c: _cell(tmp_path, "qamr", c), tmp_path)
