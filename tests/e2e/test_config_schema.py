"""`stilts-train` names a misspelt head argument without a traceback. (The schema itself:
tests/unit/test_config_schema.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from stilts.config import CONF_DIR
from tests.helpers import REPO, cli, offline_env, tiny_overrides

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


def test_the_cli_names_the_misspelt_head_argument_without_a_traceback(tmp_path: Path) -> None:
    folder = typo_task(tmp_path, "head")
    settings = [*tiny_overrides(tmp_path), f"hydra.searchpath=[file://{folder}]", "task@target=rte_typo"]
    done = subprocess.run(
        cli("train", *settings), cwd=REPO, env=offline_env(), capture_output=True, text=True
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said[-2000:]
    assert "`target.head.dropuot`" in said and "Traceback" not in said
