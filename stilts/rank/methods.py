"""The ranking methods: `logme`, `hscore` (features under each candidate's intermediate encoder)
and `semb` (dataset embeddings under the pretrained encoder alone).

Each candidate's config is composed exactly as `stilts-train task@intermediate=<candidate>` with the
same overrides would compose it, so its intermediate encoder has the grid's cache key: a cached
encoder is reused, an absent one is trained once through the pipeline's own cache (and then serves
the grid as well). Only `logme` and `hscore` need intermediate encoders; `semb` trains nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from stilts.identity import stage_seed
from stilts.models.encoder import build_encoder, load_tokenizer
from stilts.pipeline import intermediate_encoder, intermediate_key_material
from stilts.rank.cost import Cost, GridEstimate, estimate_grid
from stilts.rank.features import RankError, encode_rows, mean_embedding, row_maker, sample
from stilts.rank.hscore import hscore
from stilts.rank.logme import logme
from stilts.stage import make_datamodule
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import NO_TASK, TaskSpec, known_tasks

log = logging.getLogger(__name__)
CandidateConfig = Callable[[str], DictConfig]
FEATURE_SEED = 0  # the sample of examples a method reads does not depend on the restart


@dataclass
class Ranking:
    """Scores of the candidates for one target (higher: more promising), and what they cost."""

    method: str
    target: str
    scores: dict[str, float]
    cost: Cost

    def ordered(self) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda item: -item[1])


def device() -> torch.device:
    """The GPU when there is one: ranking reads many examples through large encoders."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_candidates(candidates: list[str]) -> list[str]:
    names = [str(c) for c in candidates]
    if not names:
        raise RankError("`candidates` is empty; give the intermediate tasks to rank, e.g. candidates=[a,b]")
    if NO_TASK in names:
        raise RankError(
            f"`candidates` holds `{NO_TASK}`: it is the baseline that transfer is measured "
            "against, not a candidate; remove it"
        )
    unknown = [name for name in names if name not in known_tasks()]
    if unknown:
        raise RankError(
            f"`candidates` names unknown task(s) {unknown}; known tasks: {', '.join(known_tasks())}"
        )
    if len(set(names)) != len(names):
        raise RankError(f"`candidates` repeats a task: {names}")
    return names


def datamodule(cfg: DictConfig, spec: TaskSpec, tokenizer: Any) -> TaskDataModule:
    return make_datamodule(cfg, spec, tokenizer, FEATURE_SEED)


def _intermediate_weights(cfg: DictConfig, candidate: str, run_dir: Path, tokenizer: Any, cost: Cost) -> Path:
    spec = TaskSpec.from_config(cfg.intermediate, key=f"intermediate (candidate {candidate})")
    started = time.monotonic()
    seed = stage_seed(cfg, "intermediate")
    data = make_datamodule(cfg, spec, tokenizer, seed)  # as the pipeline builds it: the grid's cache key
    material = intermediate_key_material(cfg, data, tokenizer)
    source = intermediate_encoder(cfg, data, material, run_dir / candidate, tokenizer)
    if source["trained_now"]:
        cost.trained.append(candidate)
        cost.train_wall_s += time.monotonic() - started
        log.info("trained the intermediate encoder of %s (not cached): %s", candidate, source["path"])
    else:
        cost.cached.append(candidate)
    return Path(source["path"])


def rank_by_features(
    method: str, cfg: DictConfig, candidates: list[str], candidate_cfg: CandidateConfig, run_dir: Path
) -> Ranking:
    """`logme` or `hscore`: the target's training examples under each candidate's encoder."""
    started, cost = time.monotonic(), Cost()
    target = TaskSpec.from_config(cfg.target, key="target")
    rows = row_maker(target.name, str(target.cfg.head._target_))  # refuse before training anything
    estimator = {"logme": logme, "hscore": hscore}[method]
    tokenizer = load_tokenizer(cfg.model)
    data = datamodule(cfg, target, tokenizer)
    examples = sample(data.featurized("train"), cfg.rank.max_examples, FEATURE_SEED)
    collate = data.featurizer.collator(tokenizer.pad_token_id)
    scores = {}
    for name in candidates:
        ccfg = candidate_cfg(name)
        weights = _intermediate_weights(ccfg, name, run_dir, tokenizer, cost)
        encoder = build_encoder(ccfg.model, dropout=0.0, weights=weights).to(device())
        encoded = encode_rows(encoder, examples, collate, rows, cfg.rank.batch_size)
        if np.unique(encoded.labels).size < 2:
            raise RankError(f"target `{target.name}`: the sampled training examples hold one label only")
        cost.sequences += encoded.sequences
        scores[name] = estimator(encoded.features, encoded.labels)
        log.info("%s %s -> %s: %.6f (%d rows)", method, name, target.name, scores[name], len(encoded.labels))
    cost.wall_s = time.monotonic() - started
    return Ranking(method, target.name, scores, cost)


def rank_by_semb(
    cfg: DictConfig,
    candidates: list[str],
    candidate_cfg: CandidateConfig,
    run_dir: Path,
    memo: dict[str, np.ndarray] | None = None,
) -> Ranking:
    """`semb`: cosine similarity of each candidate's dataset embedding to the target's.

    `memo` (task -> embedding) lets several rankings share embeddings (evaluation over many
    targets); only embeddings computed in this call count in its cost."""
    memo = {} if memo is None else memo
    started, cost = time.monotonic(), Cost()
    target = TaskSpec.from_config(cfg.target, key="target")
    tokenizer = load_tokenizer(cfg.model)
    encoder = build_encoder(cfg.model, dropout=0.0).to(device())  # pretrained (or model.encoder_weights)

    def embed(node: DictConfig, spec: TaskSpec) -> np.ndarray:
        if spec.name in memo:
            return memo[spec.name]
        data = datamodule(node, spec, tokenizer)
        examples = sample(data.featurized("train"), cfg.rank.semb_examples, FEATURE_SEED)
        vector, sequences = mean_embedding(
            encoder, examples, data.featurizer.collator(tokenizer.pad_token_id), cfg.rank.batch_size
        )
        cost.sequences += sequences
        memo[spec.name] = vector
        return vector

    reference = embed(cfg, target)
    scores = {}
    for name in candidates:
        ccfg = candidate_cfg(name)
        vector = embed(ccfg, TaskSpec.from_config(ccfg.intermediate, key=f"intermediate (candidate {name})"))
        scores[name] = float(vector @ reference / (np.linalg.norm(vector) * np.linalg.norm(reference)))
    cost.wall_s = time.monotonic() - started
    return Ranking("semb", target.name, scores, cost)


METHODS = ("logme", "hscore", "semb")


def rank(
    method: str,
    cfg: DictConfig,
    candidates: list[str],
    candidate_cfg: CandidateConfig,
    run_dir: Path,
    memo: dict[str, np.ndarray] | None = None,
) -> Ranking:
    """Rank `candidates` for `cfg.target` with `method` (one of METHODS); `memo`: see rank_by_semb."""
    names = check_candidates(list(candidates))
    if method == "semb":
        return rank_by_semb(cfg, names, candidate_cfg, run_dir, memo)
    if method in ("logme", "hscore"):
        return rank_by_features(method, cfg, names, candidate_cfg, run_dir)
    raise RankError(f"`method` is {method!r}; use one of {', '.join(METHODS)}")


def estimate_replaced_grid(
    cfg: DictConfig, candidates: list[str], candidate_cfg: CandidateConfig, ranking: Ranking
) -> GridEstimate:
    """Estimated cost of training the candidates and `rank.restarts` target cells for each."""
    tokenizer = load_tokenizer(cfg.model)

    def size(node: DictConfig, key: str) -> tuple[int, int]:
        spec = TaskSpec.from_config(node, key=key)
        n = len(datamodule(cfg, spec, tokenizer).read_split("train"))  # records only: no tokenizing
        n = min(n, spec.train_size) if spec.train_size is not None else n
        return n, int(spec.max_epochs)

    inter = {name: size(candidate_cfg(name).intermediate, f"intermediate ({name})") for name in candidates}
    return estimate_grid(
        inter, size(cfg.target, "target"), int(cfg.rank.restarts), ranking.cost.seconds_per_sequence
    )
