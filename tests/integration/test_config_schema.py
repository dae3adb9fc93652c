"""A task yaml with a misspelt argument is refused by a cell before any data is read, naming the key
and the arguments its callable takes. (The schema itself: tests/unit/test_config_schema.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from stilts.cell import resolve_cell
from stilts.config import CONF_DIR
from stilts.errors import ConfigError
from stilts.pipeline import run_cell
from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg, tiny_overrides

RTE_YAML = (CONF_DIR / "task" / "rte.yaml").read_text()
HEAD = "featurizer: {_target_: stilts.tasks.featurizers.ClassificationFeaturizer, pair: true}"
ACC = "acc: {_target_: torchmetrics.classification.MulticlassAccuracy, num_classes: 2, average: micro}"
# (the line of rte.yaml replaced, its misspelt version, what the error must name)
TYPOS = {
    "head": (
        HEAD,
        f"{HEAD}\nhead: {{_target_: stilts.models.heads.ClassificationHead, dropuot: 0.1}}",
        ["`target.head.dropuot`", "did you mean `target.head.dropout`", "hidden_size, labels, dropout"],
    ),
    "featurizer": (
        HEAD,
        HEAD.replace("pair:", "pairs:"),
        ["`target.featurizer.pairs`", "ClassificationFeaturizer", "arguments: pair"],
    ),
    "metrics": (
        ACC,
        ACC.replace("num_classes", "num_clases"),
        ["`target.metrics.acc`", "num_clases", "takes num_classes, top_k, average"],
    ),
    "local": (
        "fields: {text_a: premise, text_b: hypothesis, label: label}\nhub:",
        "feilds: {text_a: premise, text_b: hypothesis, label: label}\nhub:",
        ["`target.local.feilds`", "did you mean `target.local.fields`"],
    ),
}


def typo_task(tmp_path: Path, part: str) -> Path:
    """A copy of rte.yaml, as task `rte_typo` in a config folder of its own, with one misspelt key."""
    line, misspelt, _ = TYPOS[part]
    assert line in RTE_YAML  # the fixture still edits what it means to
    folder = tmp_path / "conf"
    (folder / "task").mkdir(parents=True)
    text = RTE_YAML.replace(line, misspelt, 1).replace("name: rte", "name: rte_typo")
    (folder / "task" / "rte_typo.yaml").write_text(text)
    return folder


@pytest.mark.parametrize("part", list(TYPOS))
def test_a_misspelt_argument_in_a_task_yaml_is_refused_before_any_data_is_read(
    tmp_path: Path, part: str
) -> None:
    folder = typo_task(tmp_path, part)
    # No data anywhere: reading any would end in MissingDataError, not in the ConfigError expected.
    settings = [*tiny_overrides(tmp_path, tmp_path / "no_data"), "data.source=local"]
    cfg = compose_cfg([*settings, f"hydra.searchpath=[file://{folder}]", "task@target=rte_typo"])
    with pytest.raises(ConfigError) as caught:
        run_cell(resolve_cell(cfg), tmp_path / "run")
    message = str(caught.value)
    for text in [*TYPOS[part][2], "task/rte_typo.yaml"]:
        assert text in message
    with pytest.raises(ConfigError):  # stilts-data and stilts-rank build the spec the same way
        TaskSpec.from_config(cfg.target, key="target")
    assert not (tmp_path / "cache").exists()
