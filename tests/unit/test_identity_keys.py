"""One identity function (issue 21): the cell name, the intermediate cache key, the forgetting key and
`stilts-plan`'s counts all come from `stilts.identity.identity_material`, which hashes content, not
locations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from stilts.cell import resolve_cell
from stilts.config import CONF_DIR, register_resolvers
from stilts.identity import identity_material, short_hash
from stilts.plan import Composer, expand, plan, summary
from tests.helpers import REPO, compose_cfg

TINY_ASSET = REPO / "stilts" / "assets" / "tiny_roberta"


def test_the_plan_counts_an_intermediate_training_per_optimizer() -> None:
    # The command: `optim` is part of the intermediate encoder's key, so two trainings.
    jobs = plan(["task@intermediate=mnli", "task@target=rte,cb", "optim=adamw,bert_adam", "model=tiny"])
    assert summary(jobs).startswith("2 intermediate trainings")
    # The same seed under two restarts trains one encoder (the override strings differ, the key not).
    jobs = plan(["task@intermediate=mnli", "task@target=rte", "restart=0,1", "seed=5", "model=tiny"])
    assert summary(jobs).startswith("1 intermediate trainings")


def test_a_job_the_identity_cannot_read_is_invalid_with_the_reason() -> None:
    (job,) = plan(["task@intermediate=mnli", "task@target=rte", "restart=7", "model=tiny"])
    assert job.status == "invalid" and "restart" in job.note


def test_the_plan_composes_each_job_as_hydra_does(tmp_path: Path) -> None:
    arguments = [
        "task@intermediate=none,cb",
        "optim=adamw,bert_adam",
        "intermediate.lr=1e-4,2e-4",
        "+trainer.max_steps=3",
        f"hydra.sweep.dir={tmp_path}",
        "model=tiny",
    ]
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        jobs, _ = expand(arguments)
        composer = Composer()
        for overrides in jobs:
            ours = composer(overrides)
            hydras = compose("train", overrides=overrides, return_hydra_config=True)
            assert ours.hydra.sweep.subdir == hydras.hydra.sweep.subdir
            plain = [OmegaConf.to_container(cfg) for cfg in (ours, hydras)]
            for cfg in plain:  # what Hydra records of the launch itself is not the cell's
                for key in ("overrides", "runtime", "job"):
                    del cfg["hydra"][key]
            assert plain[0] == plain[1], overrides


def test_the_plan_composes_with_configs_on_the_search_path(tmp_path: Path) -> None:
    # `--config-dir` reaches the plan as `hydra.searchpath=[...]`: it shapes composition, so the plan
    # composes with it (a task of the user's own is found, not "invalid").
    (tmp_path / "task").mkdir()
    rte = (REPO / "conf" / "task" / "rte.yaml").read_text()
    (tmp_path / "task" / "claims.yaml").write_text(rte.replace("name: rte", "name: claims"))
    jobs = plan([f"hydra.searchpath=[file://{tmp_path}]", "task@target=claims,rte", "model=tiny"], True)
    assert [j.status for j in jobs] == ["to run", "to run"], [j.note for j in jobs]
    assert jobs[0].run_dir is not None and jobs[0].run_dir.name.startswith("none__claims__")


def test_the_name_hashes_the_model_by_content_not_by_location(tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "tiny_roberta"
    shutil.copytree(TINY_ASSET, moved)
    cell = ["model=tiny", "task@intermediate=cb", "task@target=rte"]
    here, there = compose_cfg(cell), compose_cfg([*cell, f"model.pretrained={moved}"])
    assert here.model.pretrained != there.model.pretrained
    assert here.cell_name == there.cell_name
    assert identity_material(here) == identity_material(there)
    # The same folder with another vocabulary is another model.
    config = json.loads((moved / "tokenizer_config.json").read_text())
    (moved / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": 7}))
    changed = compose_cfg([*cell, f"model.pretrained={moved}"])
    assert changed.cell_name != here.cell_name


def test_random_batches_key_the_cell_and_reach_its_inputs() -> None:
    cell = ["model=tiny", "task@intermediate=mnli", "task@target=rte"]
    grouped, random = compose_cfg(cell), compose_cfg([*cell, "data.length_grouped=false"])
    # Absent from the default's material, so cells written before the setting existed keep their names.
    assert "batches" not in identity_material(grouped).shared
    assert identity_material(random).shared["batches"] == "random"
    assert random.cell_name != grouped.cell_name
    assert identity_material(random).intermediate_key() != identity_material(grouped).intermediate_key()
    assert resolve_cell(grouped).inputs.length_grouped and not resolve_cell(random).inputs.length_grouped


def test_descriptions_and_other_roles_settings_change_no_key() -> None:
    cell = ["model=tiny", "task@intermediate=mnli", "task@target=rte"]
    base = identity_material(compose_cfg(cell))
    described = identity_material(compose_cfg([*cell, "target.origin=elsewhere", "intermediate.family=x"]))
    assert described == base
    # A target entry in mnli's `hparams` table: the intermediate slot does not read it.
    target_entry = "+intermediate.hparams.target={lr: 0.5, dropout: 0.5, batch_size: 2}"
    other_role = identity_material(compose_cfg([*cell, target_entry]))
    assert other_role == base
    own_role = identity_material(compose_cfg([*cell, "intermediate.hparams.intermediate.lr=0.5"]))
    assert own_role.intermediate_key() != base.intermediate_key()
    assert own_role.downstream == base.downstream  # the target stage's own part is untouched
    # A target setting is no part of the intermediate encoder's key.
    target_only = identity_material(compose_cfg([*cell, "target.lr=0.5"]))
    assert target_only.intermediate_key() == base.intermediate_key()
    assert short_hash(target_only.cell()) != short_hash(base.cell())
