"""The task yamls state only what is their own (issue 12): per-family bases carry the rest."""

from __future__ import annotations

import importlib.util

from tests.helpers import REPO

# Measured with scripts/yaml_repetition.py on the task yamls before the family bases (commit 2168329):
# 782 of their 1,187 content lines repeated verbatim in five or more files.
BEFORE = 782


def test_task_yamls_repeat_at_most_a_third_of_what_they_did() -> None:
    spec = importlib.util.spec_from_file_location("yaml_repetition", REPO / "scripts" / "yaml_repetition.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    repeated, total = module.repetition()
    assert repeated <= BEFORE / 3, f"{repeated} of {total} lines repeat in >= 5 task yamls"
