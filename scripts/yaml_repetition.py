"""How much the task yamls repeat each other: non-comment, non-blank lines of conf/task/*.yaml that
occur verbatim (stripped) in five or more files. Issue 12 measured 788 of 1,187 such lines before the
per-family base yamls (conf/task_family/).

    python scripts/yaml_repetition.py [--min-files 5]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

TASKS = Path(__file__).resolve().parents[1] / "conf" / "task"


def content_lines(path: Path) -> list[str]:
    lines = (line.rstrip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def repetition(folder: Path = TASKS, min_files: int = 5) -> tuple[int, int]:
    """(lines that repeat in >= min_files files, all content lines) over the task yamls."""
    files = {path: content_lines(path) for path in sorted(folder.glob("*.yaml"))}
    spread = Counter(line for lines in files.values() for line in set(lines))
    total = sum(len(lines) for lines in files.values())
    repeated = sum(1 for lines in files.values() for line in lines if spread[line] >= min_files)
    return repeated, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-files", type=int, default=5)
    args = parser.parse_args()
    repeated, total = repetition(min_files=args.min_files)
    where = "conf/task/*.yaml"
    print(f"{repeated} of {total} content lines of {where} repeat in >= {args.min_files} files")


if __name__ == "__main__":
    main()
