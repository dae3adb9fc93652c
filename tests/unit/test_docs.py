"""The front door (issue 23): a short README that starts with the two commands, links that resolve,
and no file that cites something a user's clone does not contain."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import REPO

README = REPO / "README.md"
CHECKED = ("stilts", "tests", "docs", "benchmarks")  # plus README.md and BENCHMARKS.md


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first_block = text.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "schedule=epochs" in text and "5,000" in text  # the quick setting next to the paper's


def test_markdown_links_resolve() -> None:
    checked = 0
    for page in [README, REPO / "BENCHMARKS.md", *(REPO / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which is missing"
            checked += 1
    assert checked >= 20  # the README's links to docs/ alone are more


def test_nothing_cites_a_file_outside_the_repository() -> None:
    files = [README, REPO / "BENCHMARKS.md"]
    for folder in CHECKED:
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".md", ".yaml", ".sh")]
    this = Path(__file__).resolve()
    for path in files:
        if path.resolve() == this:
            continue
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "TASKS.md" not in text, path
