"""Bad configuration met by a cell: a ConfigError naming the key, the value and what is allowed, before
any work starts (nothing trained, nothing written into the run dir); unusable cache dirs are named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stilts.cell import resolve_cell
from stilts.errors import ConfigError
from stilts.pipeline import run_cell
from tests.helpers import compose_cfg, tiny_overrides

# (overrides, the texts the message must contain)
CASES = [
    (["model.max_length=0"], ["`model.max_length`", "0", ">= 8"]),
    (["model.max_length=3"], ["`model.max_length`", "3", ">= 8"]),
    (["model.max_length=600"], ["`model.max_length` is 600", "at most 512"]),
    (["restart=-1"], ["`restart` is -1", ">= 0 and <= 2"]),
    (["restart=3"], ["`restart` is 3", "<= 2"]),
    (["restart=first"], ["`restart` is 'first'", "whole number"]),
    (["seed=abc"], ["`seed` is 'abc'", "whole number"]),
    (["seed=-5"], ["`seed` is -5", ">= 0"]),
    (["target.lr=abc"], ["`target.lr` is 'abc'", "a number"]),
    (["target.lr=-1e-5"], ["`target.lr` is -1e-05", "> 0.0"]),
    (["target.lr=0"], ["`target.lr` is 0", "> 0.0"]),
    (["target.dropout=1.0"], ["`target.dropout` is 1.0", "< 1.0"]),
    (["target.dropout=-0.1"], ["`target.dropout` is -0.1", ">= 0.0"]),
    (["target.batch_size=0"], ["`target.batch_size` is 0", ">= 1"]),
    (["target.batch_size=-4"], ["`target.batch_size` is -4", ">= 1"]),
    (["target.batch_size=4.5"], ["`target.batch_size` is 4.5", "whole number"]),
    (["target.max_epochs=0"], ["`target.max_epochs` is 0", ">= 1"]),
    (["target.val_interval=0"], ["`target.val_interval` is 0", ">= 1"]),
    (["target.patience=-1"], ["`target.patience` is -1", ">= 0"]),
    (["task@intermediate=cb", "intermediate.train_size=0"], ["`intermediate.train_size` is 0", ">= 1"]),
    (["task@intermediate=cb", "intermediate.lr=fast"], ["`intermediate.lr` is 'fast'", "a number"]),
    (["+target.lrr=1e-5"], ["`target.lrr` is not a setting", "did you mean `target.lr`"]),
    (
        ["task@intermediate=cb", "+intermediate.dropuot=0.1"],
        ["`intermediate.dropuot`", "`intermediate.dropout`"],
    ),
    (["+model.max_len=64"], ["`model.max_len` is not a setting", "`model.max_length`"]),
    (["+trainer.max_stepz=3"], ["`trainer.max_stepz` is not a setting", "`trainer.max_steps`"]),
    (["+restrat=1"], ["`restrat` is not a setting", "`restart`"]),
    (["force=maybe"], ["`force` is 'maybe'", "true or false"]),
    (["data.num_workers=-1"], ["`data.num_workers` is -1", ">= 0"]),
    (["task@target=none"], ["`task@target=none`", "intermediate slot only"]),
    (["model.pretrained=/no/such/model"], ["`model.pretrained` is '/no/such/model'", "local"]),
    (
        ["model.pretrained=FacebookAI/roberta-large"],
        ["`model.pretrained`", "FacebookAI/roberta-large", "offline"],
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_setting_is_refused_before_any_work(
    tmp_path: Path, overrides: list[str], expected: list[str]
) -> None:
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=rte", *overrides])
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as caught:
        run_cell(resolve_cell(cfg), run_dir)
    for text in expected:
        assert text in str(caught.value)
    assert not (tmp_path / "cache" / "intermediate").exists()  # nothing was trained
    assert not run_dir.exists() or {p.name for p in run_dir.iterdir()} <= {".cell.lock"}


def test_cache_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "cachefile"
    blocker.write_text("not a folder")
    cfg = compose_cfg([*tiny_overrides(tmp_path), f"paths.cache_dir={blocker}"])
    with pytest.raises(ConfigError, match="`paths.cache_dir` is .*cachefile, which is a file"):
        run_cell(resolve_cell(cfg), tmp_path / "run")
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_cache_dir_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cfg = compose_cfg([*tiny_overrides(tmp_path), f"paths.cache_dir={locked / 'cache'}"])
    with pytest.raises(ConfigError, match="`paths.cache_dir` .* cannot write"):
        run_cell(resolve_cell(cfg), tmp_path / "run")
