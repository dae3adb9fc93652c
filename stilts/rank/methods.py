"""The ranking methods: `logme`, `hscore` (features under each candidate's intermediate encoder)
and `semb` (dataset embeddings under the pretrained encoder alone).

Each candidate's config is composed exactly as `stilts-train task@intermediate=<candidate>` with the
same overrides would compose it and resolved into its cell's settings (stilts.cell), so its
intermediate encoder has the grid's cache key: a cached
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

from stilts.cell import Cell, StageSettings
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
CandidateCell = Callable[[str], Cell]  # a candidate's name -> the settings of its cell before the target
FEATURE_SEED = 0  # the sample of examples a method reads does not depend on the restart


@dataclass(frozen=True)
class RankSettings:
    """`rank:` of conf/rank.yaml (its values and their meaning are there)."""

    max_examples: int
    semb_examples: int
    batch_size: int
    restarts: int
    grid_wall_s: float | None  # None: the sum of the records' stage times stands in

    @classmethod
    def from_node(cls, node: DictConfig) -> RankSettings:
        wall = node.get("grid_wall_s")
        return cls(
            max_examples=int(node.max_examples),
            semb_examples=int(node.semb_examples),
            batch_size=int(node.batch_size),
            restarts=int(node.restarts),
            grid_wall_s=float(wall) if wall else None,
        )


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


def datamodule(cell: Cell, spec: TaskSpec, tokenizer: Any) -> TaskDataModule:
    return make_datamodule(cell, spec, tokenizer, FEATURE_SEED)


def intermediate_stage(cell: Cell, candidate: str) -> StageSettings:
    """The intermediate stage of a candidate's cell (a `none` candidate is refused up front)."""
    if cell.intermediate is None:
        raise RankError(f"candidate `{candidate}` has no intermediate stage")
    return cell.intermediate


def _intermediate_weights(cell: Cell, candidate: str, run_dir: Path, tokenizer: Any, cost: Cost) -> Path:
    stage = intermediate_stage(cell, candidate)
    started = time.monotonic()
    # As the pipeline builds it: the grid's cache key.
    data = make_datamodule(cell, stage.spec, tokenizer, stage.seed)
    material = intermediate_key_material(cell, data, tokenizer)
    source = intermediate_encoder(cell, data, material, run_dir / candidate, tokenizer)
    if source["trained_now"]:
        cost.trained.append(candidate)
        cost.train_wall_s += time.monotonic() - started
        log.info("trained the intermediate encoder of %s (not cached): %s", candidate, source["path"])
    else:
        cost.cached.append(candidate)
    return Path(source["path"])


def rank_by_features(
    method: str,
    cell: Cell,
    settings: RankSettings,
    candidates: list[str],
    candidate_cell: CandidateCell,
    run_dir: Path,
) -> Ranking:
    """`logme` or `hscore`: the target's training examples under each candidate's encoder."""
    started, cost = time.monotonic(), Cost()
    target = cell.downstream.spec
    rows = row_maker(target.name, str(target.cfg.head._target_))  # refuse before training anything
    estimator = {"logme": logme, "hscore": hscore}[method]
    tokenizer = load_tokenizer(cell.model)
    data = datamodule(cell, target, tokenizer)
    examples = sample(data.featurized("train"), settings.max_examples, FEATURE_SEED)
    collate = data.featurizer.collator(tokenizer.pad_token_id)
    scores = {}
    for name in candidates:
        candidate = candidate_cell(name)
        weights = _intermediate_weights(candidate, name, run_dir, tokenizer, cost)
        encoder = build_encoder(candidate.model, dropout=0.0, weights=weights).to(device())
        encoded = encode_rows(encoder, examples, collate, rows, settings.batch_size)
        if np.unique(encoded.labels).size < 2:
            raise RankError(f"target `{target.name}`: the sampled training examples hold one label only")
        cost.sequences += encoded.sequences
        scores[name] = estimator(encoded.features, encoded.labels)
        log.info("%s %s -> %s: %.6f (%d rows)", method, name, target.name, scores[name], len(encoded.labels))
    cost.wall_s = time.monotonic() - started
    return Ranking(method, target.name, scores, cost)


def rank_by_semb(
    cell: Cell,
    settings: RankSettings,
    candidates: list[str],
    candidate_cell: CandidateCell,
    memo: dict[str, np.ndarray] | None = None,
) -> Ranking:
    """`semb`: cosine similarity of each candidate's dataset embedding to the target's.

    `memo` (task -> embedding) lets several rankings share embeddings (evaluation over many
    targets); only embeddings computed in this call count in its cost."""
    memo = {} if memo is None else memo
    started, cost = time.monotonic(), Cost()
    target = cell.downstream.spec
    tokenizer = load_tokenizer(cell.model)
    encoder = build_encoder(cell.model, dropout=0.0).to(device())  # pretrained (or model.encoder_weights)

    def embed(owner: Cell, spec: TaskSpec) -> np.ndarray:
        if spec.name in memo:
            return memo[spec.name]
        data = datamodule(owner, spec, tokenizer)
        examples = sample(data.featurized("train"), settings.semb_examples, FEATURE_SEED)
        vector, sequences = mean_embedding(
            encoder, examples, data.featurizer.collator(tokenizer.pad_token_id), settings.batch_size
        )
        cost.sequences += sequences
        memo[spec.name] = vector
        return vector

    reference = embed(cell, target)
    scores = {}
    for name in candidates:
        candidate = candidate_cell(name)
        vector = embed(candidate, intermediate_stage(candidate, name).spec)
        scores[name] = float(vector @ reference / (np.linalg.norm(vector) * np.linalg.norm(reference)))
    cost.wall_s = time.monotonic() - started
    return Ranking("semb", target.name, scores, cost)


METHODS = ("logme", "hscore", "semb")


def rank(
    method: str,
    cell: Cell,
    settings: RankSettings,
    candidates: list[str],
    candidate_cell: CandidateCell,
    run_dir: Path,
    memo: dict[str, np.ndarray] | None = None,
) -> Ranking:
    """Rank `candidates` for the downstream task of `cell` with `method` (one of METHODS); intermediate
    encoders a method needs are trained under `run_dir`; `memo`: see rank_by_semb."""
    names = check_candidates(list(candidates))
    if method == "semb":
        return rank_by_semb(cell, settings, names, candidate_cell, memo)
    if method in ("logme", "hscore"):
        return rank_by_features(method, cell, settings, names, candidate_cell, run_dir)
    raise RankError(f"`method` is {method!r}; use one of {', '.join(METHODS)}")


def estimate_replaced_grid(
    cell: Cell, settings: RankSettings, candidates: list[str], candidate_cell: CandidateCell, ranking: Ranking
) -> GridEstimate:
    """Estimated cost of training the candidates and `rank.restarts` target cells for each."""
    tokenizer = load_tokenizer(cell.model)

    def size(spec: TaskSpec) -> tuple[int, int]:
        n = len(datamodule(cell, spec, tokenizer).read_split("train"))  # records only: no tokenizing
        n = min(n, spec.train_size) if spec.train_size is not None else n
        return n, int(spec.max_epochs)

    inter = {name: size(intermediate_stage(candidate_cell(name), name).spec) for name in candidates}
    target = size(cell.downstream.spec)
    return estimate_grid(inter, target, settings.restarts, ranking.cost.seconds_per_sequence)
