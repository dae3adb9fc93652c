"""stilts installs like any library (issue 12): a non-editable wheel in a fresh virtual environment,
run from a folder that is not the repository, finds its configs (package data) and trains a cell.

The fresh environment borrows the already installed dependencies (torch, transformers, ...) through
a path entry instead of downloading them again; stilts itself comes only from the wheel (checked).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, REPO, offline_env


def install_wheel(tmp_path: Path) -> tuple[Path, str]:
    """Build stilts' wheel from a copy of the repository and install it into a fresh venv under tmp_path;
    return the venv's folder and its site-packages."""
    source = tmp_path / "source"  # a copy: setuptools builds in place (build/, *.egg-info)
    for folder in ("stilts", "conf"):  # the package and its configs (installed as stilts.conf)
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(wheels), str(source)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("stilts-*.whl")

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies from this interpreter's site-packages, appended after the fresh one (a plain path
    # entry: the editable install's finder there is not activated).
    (Path(site) / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True
    )
    return env_dir, site


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_trains_a_cell_from_an_unrelated_folder(tmp_path: Path) -> None:
    env_dir, site = install_wheel(tmp_path)
    python = env_dir / "bin" / "python"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in offline_env().items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import stilts; print(stilts.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip().startswith(site), where.stdout + where.stderr  # not the repository's
    command = [
        str(env_dir / "bin" / "stilts-train"),
        "task@target=rte",
        "model=tiny",
        "trainer=cpu",
        "logger=none",
        f"paths.data_dir={FIXTURES}",
        "+trainer.max_steps=2",
    ]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (result,) = (work / "runs").glob("none__rte__*/result.json")
    assert json.loads(result.read_text())["status"] == "finished"
    assert {p.name for p in work.iterdir()} <= {"runs", ".stilts_cache"}  # nothing else written here
