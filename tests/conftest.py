"""Test-session settings that do not depend on how pytest is started (plain `pytest`, an IDE, `make`):
no network for the Hugging Face Hub, and W&B offline. Set before any test module imports
`transformers`, `datasets` or `huggingface_hub`, which read them at import time."""

from __future__ import annotations

import os

for variable, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
}.items():
    os.environ.setdefault(variable, value)
