"""One cell of the study: an optional intermediate stage (cached), then the target/probing stage.

The intermediate encoder comes from the content-addressed cache (stilts.cache), trained at most once
per (model, task definition, data, hyperparameters, seed, max length, featurizer version). The
downstream stage loads it strictly into a fresh encoder and starts a fresh head and optimizer.
Every finished cell writes `result.json` and `predictions.jsonl` atomically into its run dir.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from safetensors.torch import save_file

import stilts
from stilts.cache import EncoderCache, file_sha256
from stilts.launch import is_rank_zero
from stilts.models.encoder import load_tokenizer
from stilts.runs import (
    RESULT,
    cell_digest,
    finished_result,
    prepare_run_dir,
    training_settings,
    weights_digest,
    write_atomic,
)
from stilts.stage import StageOutcome, make_datamodule, train_stage
from stilts.tasks.featurizers import tokenizer_digest
from stilts.tasks.spec import NO_TASK, TaskSpec

log = logging.getLogger(__name__)
PREDICTIONS = "predictions.jsonl"


def stage_seed(cfg: DictConfig, stage: str) -> int:
    """The seed of a stage: `seed` when set, else the paper's seed list for the stage, by restart."""
    if cfg.get("seed") is not None:
        return int(cfg.seed)
    seeds = cfg.seeds[stage]
    return int(seeds[cfg.restart % len(seeds)])


def intermediate_material(cfg: DictConfig, spec: TaskSpec, seed: int, tokenizer: Any) -> dict[str, Any]:
    """Everything that determines an intermediate encoder: the key material of its cache entry."""
    datamodule = make_datamodule(cfg, spec, tokenizer, seed)
    featurizer = datamodule.featurizer
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "task": spec.name,
        "task_digest": datamodule.spec.digest(),  # incl. labels derived from data
        "data": {split: datamodule.data_fingerprint(split) for split in ("train", "val")},
        "featurizer": [type(featurizer).__qualname__, featurizer.version],
        "tokenizer": tokenizer_digest(tokenizer),
        "optim": OmegaConf.to_container(cfg.optim, resolve=True),
        "trainer": training_settings(cfg),
        "encoder_weights": weights_digest(cfg),
        "seed": seed,
        "max_length": int(cfg.model.max_length),
    }


def intermediate_encoder(cfg: DictConfig, spec: TaskSpec, run_dir: Path, tokenizer: Any) -> dict[str, Any]:
    """Get (train at most once) the intermediate encoder; return its cache entry's description."""
    seed = stage_seed(cfg, "intermediate")
    cache = EncoderCache(Path(cfg.paths.cache_dir) / "intermediate")

    def train(folder: Path) -> dict[str, Any]:
        outcome = train_stage(cfg, spec, "intermediate", seed, run_dir / "intermediate", tokenizer)
        save_file(
            {k: v.contiguous() for k, v in outcome.module.encoder.state_dict().items()},
            str(folder / "encoder.safetensors"),
        )
        meta = {
            "scores": outcome.scores,
            "main": outcome.main,
            "steps": outcome.steps,
            "trained_in": str(run_dir),
        }
        meta["wandb_run"] = outcome.close_logger({"intermediate": meta})
        return meta

    entry = cache.get_or_train(
        intermediate_material(cfg, spec, seed, tokenizer), train, publish=is_rank_zero()
    )
    return {
        "kind": "intermediate",
        "task": spec.name,
        "seed": seed,
        "cache_key": entry.meta["key"],
        "path": str(entry.weights),
        "sha256": entry.meta["sha256"],
        "trained_now": entry.trained_now,
        "intermediate_main": entry.meta.get("main"),
        "intermediate_scores": entry.meta.get("scores"),
        "intermediate_wandb_run": entry.meta.get("wandb_run"),
    }


def build_result(
    cfg: DictConfig, spec: TaskSpec, seed: int, source: dict[str, Any], out: StageOutcome
) -> dict:
    degenerate = out.majority_baseline is not None and out.main <= out.majority_baseline + 1e-9
    return {
        "schema": 1,
        "stilts_version": stilts.__version__,
        "status": "finished",
        "cell": cfg.cell_name,
        "intermediate": cfg.intermediate.name,
        "task": spec.name,
        "role": spec.role,
        "restart": int(cfg.restart),
        "seed": seed,
        "model": cfg.model.name,
        "hparams": {
            "lr": spec.lr,
            "dropout": spec.dropout,
            "batch_size": spec.batch_size,
            "max_epochs": spec.max_epochs,
            "max_length": int(cfg.model.max_length),
        },
        "main_metric": list(spec.main_metric),
        "main": out.main,
        "metrics": out.scores,
        "majority_baseline": out.majority_baseline,
        "degenerate": bool(degenerate),
        "nan_loss": bool(out.extra.get("nan_loss", False)),
        "steps": out.steps,
        "epochs": out.epochs,
        "train_examples": out.train_examples,
        "val_examples": out.val_examples,
        "wall_time_s": round(out.wall_time_s, 3),
        "encoder_source": source,
    }


def run_cell(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run one cell into `run_dir` and return its result record (also written as result.json)."""
    run_dir = Path(run_dir)
    digest = cell_digest(cfg)
    done = finished_result(run_dir, digest)
    if done is not None and not cfg.get("force", False):
        log.info("cell %s already finished (%s); skipping it (force=true reruns it)", cfg.cell_name, run_dir)
        return {**done, "skipped": True}
    if is_rank_zero():
        prepare_run_dir(run_dir, digest)
    target = TaskSpec.from_config(cfg.target, key="target")
    tokenizer = load_tokenizer(cfg.model)
    if cfg.intermediate.name == NO_TASK:
        source: dict[str, Any] = {
            "kind": "pretrained",
            "model": cfg.model.name,
            "pretrained": cfg.model.pretrained,
        }
        weights = None
    else:
        intermediate = TaskSpec.from_config(cfg.intermediate, key="intermediate")
        source = intermediate_encoder(cfg, intermediate, run_dir, tokenizer)
        weights = Path(source["path"])
        if file_sha256(weights) != source["sha256"]:
            raise RuntimeError(f"{weights}: content does not match its cache metadata; delete the entry")
    seed = stage_seed(cfg, target.role)
    outcome = train_stage(cfg, target, target.role, seed, run_dir / target.role, tokenizer, weights)
    result = build_result(cfg, target, seed, source, outcome)
    result["cell_digest"] = digest
    if cfg.intermediate.get("train_size") is not None:
        result["intermediate_train_size"] = int(cfg.intermediate.train_size)
    result["wandb_run"] = outcome.close_logger({"result": result})
    if not is_rank_zero():  # results and predictions are written once, by rank zero
        return result
    lines = "".join(json.dumps(row) + "\n" for row in sorted(outcome.predictions, key=lambda r: r["idx"]))
    write_atomic(run_dir / PREDICTIONS, lines)
    if cfg.get("save_encoder"):
        weights = {k: v.contiguous() for k, v in outcome.module.encoder.state_dict().items()}
        save_file(weights, str(run_dir / ".encoder.safetensors.tmp"))
        (run_dir / ".encoder.safetensors.tmp").replace(run_dir / "encoder.safetensors")
    write_atomic(run_dir / RESULT, json.dumps(result, indent=2, sort_keys=True))
    if cfg.get("keep_checkpoints") is False:
        for stage in ("intermediate", target.role):
            shutil.rmtree(run_dir / stage / "checkpoints", ignore_errors=True)
    log.info("cell %s: %s main=%.4f -> %s", cfg.cell_name, target.name, result["main"], run_dir / RESULT)
    return result
