"""Every file of the full real datasets (../shared/realdata/full, beside the repository) reads with the
local reader of its task, with the row counts its README states; skipped where that folder is absent
(a user's clone), a failure in CI (`STILTS_REQUIRE_SHARED=1`, tests/conftest.py).

Also the malformed-input rules that the real files motivated: judgement checks (a WiC span inside a
contraction) warn and count, malformed JSON (a duplicated key, runaway nesting) is refused with file
and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stilts.errors import DataFormatError
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import TaskSpec
from tests.helpers import FIXTURES, REALDATA, compose_cfg, needs_realdata

FULL = REALDATA / "full"
# The splits' sizes and label counts as the README of realdata/full states them.
SUPERGLUE_ROWS = {"rte": (2490, 277), "cb": (250, 56), "copa": (400, 100), "wic": (5428, 638)}
DNC_RECORDS = {"aj_wh": 584, "aj_def": 508, "aj_coord": 456, "aj_eos": 478}
# The two files in a non-original layout read through documented `local.*` overrides: the dev file
# split into train and val by a seeded permutation (local.resplit), CommonsenseQA's Hugging Face layout
# read by the same reader from its own path (local.files).
RESPLIT = "+target.local.resplit={source: val, val_fraction: 0.2, seed: 0}"
CSQA_FILES = "target.local.files={train: hf_flat/dev_rand_split.jsonl, val: hf_flat/dev_rand_split.jsonl}"


def datamodule(tmp_path: Path, task: str, *overrides: str) -> TaskDataModule:
    cfg = compose_cfg([f"task@target={task}", "model=tiny", *overrides])
    spec = TaskSpec.from_config(cfg.target, key="target")
    return TaskDataModule(spec, load_tokenizer(cfg.model), FULL, tmp_path / "cache", source="local")


def jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@needs_realdata
@pytest.mark.parametrize("task", sorted(SUPERGLUE_ROWS))
def test_superglue_files_read_whole(tmp_path, task: str) -> None:
    dm = datamodule(tmp_path, task)
    for split, rows in zip(("train", "val"), SUPERGLUE_ROWS[task], strict=True):
        raw = dm.read_split(split)
        assert len(raw) == rows
        originals = jsonl_rows(FULL / task / f"{split}.jsonl")
        # Labels as the files hold them (string labels, COPA's ints, WiC's booleans) in the task's order.
        raw_labels = [str(o["label"]).lower() for o in originals]
        names = [str(v).lower() for v in dm.local_reader().label_values or dm.spec.labels]
        assert [names[i] for i in raw["label"]] == raw_labels


@needs_realdata
def test_wic_spans_inside_contractions_are_kept_and_counted(tmp_path) -> None:
    dm = datamodule(tmp_path, "wic")
    originals = jsonl_rows(FULL / "wic" / "train.jsonl")
    # Independently of stilts' rule: spans whose end falls inside a word ("does" of "doesn't").
    inside = [
        o
        for o in originals
        for k in (1, 2)
        if o[f"end{k}"] < len(o[f"sentence{k}"]) and o[f"sentence{k}"][o[f"end{k}"]].isalnum()
    ]
    assert len(inside) == 5 and all(o["word"] == "do" for o in inside)
    flagged = dm.flagged("train")
    assert sum(flagged.values()) >= len(inside)  # the contractions and any span of another word
    raw = dm.read_split("train")
    kept = {(r["text_b"], r["span2_char_start"], r["span2_char_end"]) for r in raw}
    assert all((o["sentence2"], o["start2"], o["end2"]) in kept for o in inside if o["sentence2"])
    assert dm.flagged("val") == {}


@needs_realdata
def test_sst2_reads_whole(tmp_path) -> None:
    dm = datamodule(tmp_path, "sst2")
    train, val = dm.read_split("train"), dm.read_split("val")
    assert (len(train), len(val)) == (60614, 872)
    lines = (FULL / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert sum(train["label"]) == sum(
        line.endswith("\t1") for line in (FULL / "sst2" / "train.tsv").read_text().splitlines()[1:]
    )
    assert sum(val["label"]) == sum(line.endswith("\t1") for line in lines)


@needs_realdata
def test_socialiqa_reads_whole_with_its_label_files(tmp_path) -> None:
    dm = datamodule(tmp_path, "socialiqa")
    for split, rows, labels_file in (("train", 33410, "train-labels.lst"), ("val", 1954, "dev-labels.lst")):
        raw = dm.read_split(split)
        assert len(raw) == rows
        expected = [int(x) - 1 for x in (FULL / "socialiqa" / labels_file).read_text().split()]
        assert raw["label"] == expected


@needs_realdata
def test_cosmosqa_dev_file_splits_into_train_and_val(tmp_path) -> None:
    dm = datamodule(tmp_path, "cosmosqa", RESPLIT)
    train, val = dm.read_split("train"), dm.read_split("val")
    assert len(train) + len(val) == 2985 and len(val) == round(0.2 * 2985)
    assert not set(train["idx"]) & set(val["idx"])  # disjoint
    again = datamodule(tmp_path / "again", "cosmosqa", RESPLIT).read_split("val")
    assert again["idx"] == val["idx"]  # the seed fixes the split
    other = datamodule(tmp_path / "other", "cosmosqa", RESPLIT.replace("seed: 0", "seed: 1"))
    assert other.read_split("val")["idx"] != val["idx"]
    assert dm.data_fingerprint("train") != dm.data_fingerprint("val")


@needs_realdata
def test_cosmosqa_without_the_override_names_the_missing_train_file(tmp_path) -> None:
    with pytest.raises(Exception, match="train.csv"):
        datamodule(tmp_path, "cosmosqa").read_split("train")


@needs_realdata
def test_commonsenseqa_hugging_face_layout_reads(tmp_path) -> None:
    dm = datamodule(tmp_path, "commonsenseqa", CSQA_FILES, RESPLIT)
    train, val = dm.read_split("train"), dm.read_split("val")
    assert len(train) + len(val) == 1221
    originals = jsonl_rows(FULL / "commonsenseqa" / "hf_flat" / "dev_rand_split.jsonl")
    first = originals[val["idx"][0]]
    assert val[0]["context"] == f"Q: {first['question']}"
    assert val[0]["choices"] == [f"A: {t}" for t in first["choices"]["text"]]
    assert val[0]["label"] == first["choices"]["label"].index(first["answerKey"])


@needs_realdata
@pytest.mark.parametrize("task", sorted(DNC_RECORDS))
def test_dnc_acceptability_fold1_covers_every_record(tmp_path, task: str) -> None:
    dm = datamodule(tmp_path, task)
    splits = [dm.read_split(split) for split in ("train", "val", "test")]
    assert sum(len(s) for s in splits) == DNC_RECORDS[task]
    for split in splits:  # the README: each set is balanced, and so is each part of fold 1
        assert 2 * sum(split["label"]) == len(split)


# ----- malformed input, found while reading the real files (no ../shared needed) ----------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"premise": "a", "hypothesis": "b", "label": "neutral", "label": "entailment", "idx": 0}',
         "'label' appears twice"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)  # fmt: skip
def test_malformed_json_lines_are_refused_with_file_and_line(tmp_path, line: str, message: str) -> None:
    task_dir = tmp_path / "cb"
    task_dir.mkdir()
    good = (FIXTURES / "cb" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0]
    (task_dir / "train.jsonl").write_text(f"{good}\n{line}\n", encoding="utf-8")
    cfg = compose_cfg(["task@target=cb", "model=tiny"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    dm = TaskDataModule(spec, load_tokenizer(cfg.model), tmp_path, tmp_path / "cache", source="local")
    with pytest.raises(DataFormatError, match=message) as err:
        dm.read_split("train")
    assert "train.jsonl:2" in str(err.value)
