"""The typed config schema (stilts.schema) and the `_target_` signature check (stilts.signatures):
every shipped yaml composes, passes the check and names only arguments its callables take; a task
yaml with a misspelt argument is refused before any data is read, naming the key and the arguments."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stilts.config import CONF_DIR
from stilts.errors import ConfigError
from stilts.pipeline import run_cell
from stilts.tasks.spec import TaskSpec, known_tasks
from stilts.validate import check_config
from tests.helpers import REPO, cli, compose_cfg, offline_env, tiny_overrides

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
        run_cell(cfg, tmp_path / "run")
    message = str(caught.value)
    for text in [*TYPOS[part][2], "task/rte_typo.yaml"]:
        assert text in message
    with pytest.raises(ConfigError):  # stilts-data and stilts-rank build the spec the same way
        TaskSpec.from_config(cfg.target, key="target")
    assert not (tmp_path / "cache").exists()


def test_the_cli_names_the_misspelt_head_argument_without_a_traceback(tmp_path: Path) -> None:
    folder = typo_task(tmp_path, "head")
    settings = [*tiny_overrides(tmp_path), f"hydra.searchpath=[file://{folder}]", "task@target=rte_typo"]
    done = subprocess.run(
        cli("train", *settings), cwd=REPO, env=offline_env(), capture_output=True, text=True
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said[-2000:]
    assert "`target.head.dropuot`" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["control=ewc", "+control.lamda=1.0"], ["`control.lamda`", "`control.lam`", "EWC"]),
        (["+optim.optimizer.bettas=[0.9,0.99]"], ["`optim.optimizer.bettas`", "`optim.optimizer.betas`"]),
        (["+callbacks.early_stopping.patiance=3"], ["`callbacks.early_stopping.patiance`", "patience"]),
        (["task@target=ep_srl", "+target.head.num_spanz=2"], ["`target.head.num_spanz`", "num_spans"]),
        (
            ["target.head._target_=stilts.models.heads.NoSuchHead"],
            ["`target.head._target_`", "cannot import"],
        ),
        (["target.featurizer=null"], ["`target.featurizer` is None; it must be a mapping"]),
        (["~target.head._target_"], ["`target.head` has no `_target_`", "task/rte.yaml"]),
        (["target.max_vals=0"], ["`target.max_vals` is 0", ">= 1"]),
        (["~target.val_interval"], ["`target.val_interval` is missing", "`/task_defaults@_here_`"]),
        (["model.truncation=longest"], ["`model.truncation` is 'longest'", "one of segment, pair"]),
        (["+data.workers=2"], ["`data.workers` is not a setting", "`data.num_workers`"]),
        (["forgetting.mask_probability=0"], ["`forgetting.mask_probability` is 0", "> 0.0"]),
    ],
)
def test_other_target_nodes_and_schema_ranges_are_checked(
    tmp_path: Path, overrides: list[str], expected: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_config(compose_cfg([*tiny_overrides(tmp_path), *overrides]))
    for text in expected:
        assert text in str(caught.value)


def test_the_none_task_leaves_its_unused_settings_null_but_still_refuses_typos() -> None:
    check_config(compose_cfg(["model=tiny", "task@intermediate=none"]))  # lr, dropout, batch null
    with pytest.raises(ConfigError, match="`intermediate.lr` is 'fast'"):
        check_config(compose_cfg(["model=tiny", "intermediate.lr=fast"]))


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


CELLS = [
    *[[f"task@intermediate={t}", f"task@target={t}"] for t in known_tasks()],
    *[
        [f"{group}={choice}"]
        for group in ("control", "optim", "schedule", "trainer", "logger")
        for choice in choices(group)
    ],
    *[[f"experiment={choice}"] for choice in choices("experiment")],
]


@pytest.mark.parametrize("overrides", CELLS, ids=[" ".join(c) for c in CELLS])
def test_every_shipped_yaml_composes_and_passes_the_check(overrides: list[str]) -> None:
    check_config(compose_cfg(["model=tiny", *overrides]))


@pytest.mark.parametrize("model", choices("model"))
def test_every_model_yaml_passes_the_check(model: str) -> None:
    check_config(compose_cfg([f"model={model}"]))
