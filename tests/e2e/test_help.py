"""`--help` of each Hydra entry point (conf/hydra/help/) and `stilts-plan` taking stilts-train's
command line: the help is short, names every option of every config group, and its examples run."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from stilts.config import CONF_DIR
from stilts.plan import parse_arguments, plan
from tests.helpers import REPO, cli, compose_cfg, offline_env

ENTRY_POINTS = {"train": "train", "data": "data", "analyze": "analyze", "rank.cli": "rank"}  # module: config


def help_text(module: str) -> str:
    done = subprocess.run(cli(module, "--help"), capture_output=True, text=True, env=offline_env(), cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def examples(text: str, command: str) -> list[list[str]]:
    """The example lines of a help text that start with `command`: their arguments, without comments
    and output redirection."""
    lines = [line.split("#")[0].split(" > ")[0].strip() for line in text.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith(command + " ")]


def test_train_help_is_short_and_names_every_option_of_every_group() -> None:
    text = help_text("train")
    assert len(text.splitlines()) < 60
    assert "powered by Hydra" not in text and "Examples:" in text and "schedule=epochs" in text
    words = set(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
    groups = [d for d in CONF_DIR.iterdir() if d.is_dir() and d.name not in ("hydra", "__pycache__")]
    assert len(groups) >= 12
    for group in groups:
        assert f"{group.name}:" in text or group.name == "task", f"{group.name}/ has no line of its own"
        missing = {f.stem for f in group.glob("*.yaml")} - words
        assert not missing, f"stilts-train --help does not name {sorted(missing)} of {group.name}/"
    launchers = {f.stem for f in (CONF_DIR / "hydra" / "launcher").glob("*.yaml")}
    assert launchers <= words


def test_train_help_examples_compose_and_plan(tmp_path: Path) -> None:
    lines = examples(help_text("train"), "stilts-train")
    assert len(lines) >= 4
    for line in lines:
        if "--cfg" in line:
            compose_cfg([a for a in line if not a.startswith("-") and a != "job"])
            continue
        # One target and restart of each sweep: the plan composes every cell (the paper grid's 1,260
        # take minutes), and the first cell is what the test checks.
        narrow = ["task@target=rte", "restart=0"] if "-m" in line else []
        overrides, _, _ = parse_arguments([*line, *narrow, f"paths.output_dir={tmp_path}"])
        jobs = plan(overrides)
        assert jobs, line
        compose_cfg(list(jobs[0].overrides))  # the first cell of the line is a valid config


@pytest.mark.parametrize("module", ["data", "analyze", "rank.cli"])
def test_other_helps_are_short_and_their_examples_compose(module: str) -> None:
    text = help_text(module)
    assert 10 < len(text.splitlines()) < 60 and "Examples:" in text
    command = "stilts-" + ENTRY_POINTS[module]
    lines = examples(text, command)
    assert len(lines) >= 3, text
    for line in lines:
        compose_cfg(line, config_name=ENTRY_POINTS[module])


def test_plan_takes_a_stilts_train_multirun_line(tmp_path: Path) -> None:
    line = ["-m", "task@intermediate=none,mnli", "task@target=rte,cb", "restart=0,1,2"]
    command = cli("plan", *line, f"paths.output_dir={tmp_path}")
    done = subprocess.run(command, capture_output=True, text=True, env=offline_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    # 2 intermediate states x 2 targets x 3 restarts; mnli is trained once per restart.
    assert "12 downstream runs: 0 finished, 0 failed, 12 to run" in done.stdout
    assert "3 intermediate trainings" in done.stdout


def test_plan_refuses_a_flag_it_cannot_honour(tmp_path: Path) -> None:
    done = subprocess.run(
        cli("plan", "--cfg", "job", "task@target=rte"), capture_output=True, text=True, env=offline_env()
    )
    assert done.returncode == 2 and "--cfg does not apply to a plan" in done.stderr
    assert "Traceback" not in done.stderr
