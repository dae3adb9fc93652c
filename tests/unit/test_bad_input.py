"""Bad input refused at composition: an unknown task lists the known ones. (Cells on bad files:
tests/integration/test_bad_input.py.)"""

from __future__ import annotations

import pytest
from hydra.errors import MissingConfigException

from tests.helpers import compose_cfg


def test_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(MissingConfigException) as info:
        compose_cfg(["task@target=nosuchtask"])
    assert "rte" in str(info.value) and "mnli" in str(info.value)
