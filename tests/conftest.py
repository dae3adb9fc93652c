"""Test-session settings that do not depend on how pytest is started (plain `pytest`, an IDE, `make`):
no network for the Hugging Face Hub, and W&B offline. Set before any test module imports
`transformers`, `datasets` or `huggingface_hub`, which read them at import time."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch

for variable, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
}.items():
    os.environ.setdefault(variable, value)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models run several times faster on one thread than on two busy cores
    (`pytestmark = pytest.mark.usefixtures("one_thread")` in a test module)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI (`STILTS_REQUIRE_SHARED=1`, set by .ci/run) the real-data tests must run: a missing
    ../shared/realdata fails the session instead of skipping them silently."""
    from tests.helpers import REALDATA

    if os.environ.get("STILTS_REQUIRE_SHARED") == "1" and not REALDATA.is_dir():
        pytest.exit(f"STILTS_REQUIRE_SHARED=1 but {REALDATA} is absent: the real-data tests cannot run", 1)
