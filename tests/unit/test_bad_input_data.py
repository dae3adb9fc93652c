"""Bad task data ends in a clear error (file:line, field, what to do) or in the correct result.

Each case edits a copy of a task's fixture, reads it as a run would (the datamodule), and checks the
outcome: the error class and message, or the records read; and on disk, that the input is untouched
and no half-written Arrow file is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stilts.config import CONF_DIR
from stilts.errors import DataFormatError, MissingDataError
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.report import data_report, format_text
from stilts.tasks.spec import TaskSpec
from stilts.tasks.superglue import wsc_char_span
from stilts.tasks.wic_checks import wic_span_problem
from tests.helpers import (
    FIXTURES,
    REALDATA,
    compose_cfg,
    needs_realdata,
)

Edit = Callable[[Path], None]


def copy_task(tmp_path: Path, task: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / task, data / task)
    return data


def datamodule_for(task: str, data_dir: Path, cache_dir: Path) -> TaskDataModule:
    cfg = compose_cfg([f"task={task}"], config_name="data")
    return TaskDataModule(TaskSpec.from_config(cfg.task), load_tokenizer(cfg.model), data_dir, cache_dir)


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def half_written(cache: Path) -> list[Path]:
    """Arrow files or unfinished folders a failed read left in the cache."""
    return [p for p in cache.rglob("*") if p.suffix == ".arrow" or "incomplete" in p.name]


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_rows(path: Path, objs: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))


def edit_row(file: str, line: int, change: Callable[[dict[str, Any]], None]) -> Edit:
    """An edit that applies `change` to the JSON object on `line` (1-based) of `file`."""

    def apply(task_dir: Path) -> None:
        objs = rows(task_dir / file)
        change(objs[line - 1])
        write_rows(task_dir / file, objs)

    return apply


def setter(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        for key in keys[:-1]:
            obj = obj[key]
        obj[keys[-1]] = value

    return change


def drop_labels(file: str, keep: int = 0) -> Edit:
    def apply(task_dir: Path) -> None:
        objs = rows(task_dir / file)
        for obj in objs[keep:]:
            obj.pop("label")
        write_rows(task_dir / file, objs)

    return apply


def record_answers(obj: dict[str, Any]) -> None:
    obj["qas"][0]["answers"] = [{"start": 0, "end": 2, "text": "Zurich"}]


# (case id, task, split, edit, message parts in order: file:line, field/what, the hint)
# fmt: off
FORMAT_CASES = [
    ("wic-offsets-reversed", "wic", "train", edit_row("train.jsonl", 1, setter("end1", value=6)),
     ["train.jsonl:1:", "start1/end1 = 14/6 is not a span of the 32 characters"]),
    ("wic-word-null", "wic", "train", edit_row("train.jsonl", 3, setter("word", value=None)),
     ["train.jsonl:3:", "field `word` is null, expected a string", "fix or remove this record"]),
    ("wsc-span-text-not-at-index", "wsc", "train",
     edit_row("train.jsonl", 1, setter("target", "span1_text", value="zebra")),
     ["train.jsonl:1:", "span1_text 'zebra' is not the text at span1_index 0", "fix span1_index"]),
    ("wsc-index-far-off", "wsc", "train",
     edit_row("train.jsonl", 2, setter("target", "span2_index", value=3)),
     ["train.jsonl:2:", "span2_text 'it' is not the text at span2_index 3", "or span2_text"]),
    ("wsc-index-a-string", "wsc", "train",
     edit_row("train.jsonl", 1, setter("target", "span1_index", value="0")),
     ["train.jsonl:1:", "field `span1_index` is a string ('0'), expected a whole number"]),
    ("text-null", "rte", "train", edit_row("train.jsonl", 1, setter("premise", value=None)),
     ["train.jsonl:1:", "field `premise` is null, expected a string of text", "fix or remove"]),
    ("text-list", "rte", "train", edit_row("train.jsonl", 2, setter("hypothesis", value=["a", "b"])),
     ["train.jsonl:2:", "field `hypothesis` is a list (['a', 'b']), expected a string of text"]),
    ("text-number", "cb", "val", edit_row("val.jsonl", 3, setter("premise", value=5)),
     ["val.jsonl:3:", "field `premise` is a number (5), expected a string"]),
    ("text-object", "boolq", "train", edit_row("train.jsonl", 4, setter("passage", value={"a": 1})),
     ["train.jsonl:4:", "field `passage` is an object"]),
    ("copa-choice-null", "copa", "train", edit_row("train.jsonl", 2, setter("choice1", value=None)),
     ["train.jsonl:2:", "field `choice1` is null, expected a string"]),
    ("csqa-stem-number", "commonsenseqa", "train",
     edit_row("train_rand_split.jsonl", 1, setter("question", "stem", value=7)),
     ["train_rand_split.jsonl:1:", "field `stem` is a number (7)"]),
    ("record-answer-no-candidate", "record", "train", edit_row("train.jsonl", 1, record_answers),
     ["train.jsonl:1:", "the answers ['Zurich']", "are none of the passage's", "candidate entities",
      "fix the answer texts"]),
    ("record-passage-null", "record", "train",
     edit_row("train.jsonl", 2, setter("passage", "text", value=None)),
     ["train.jsonl:2:", "field `text` is null"]),
    ("multirc-answers-missing", "multirc", "train",
     edit_row("train.jsonl", 1, lambda o: o["passage"]["questions"][0].pop("answers")),
     ["train.jsonl:1:", "missing field `answers`"]),
    ("boolq-label-unknown-string", "boolq", "train",
     edit_row("train.jsonl", 1, setter("label", value="maybe")),
     ["train.jsonl:1:", "label 'maybe' is not one of the expected values false, true",
      "found a string; expected a boolean", "fix the label"]),
    ("boolq-label-number", "boolq", "train", edit_row("train.jsonl", 2, setter("label", value=1)),
     ["train.jsonl:2:", "label 1 is not one of", "found a number; expected a boolean"]),
    ("rte-label-boolean", "rte", "val", edit_row("val.jsonl", 2, setter("label", value=True)),
     ["val.jsonl:2:", "label True is not one of the expected values 'entailment', 'not_entailment'",
      "found a boolean; expected a string"]),
]
# fmt: on


@pytest.mark.parametrize(("task", "split", "edit", "parts"), [c[1:] for c in FORMAT_CASES],
                         ids=[c[0] for c in FORMAT_CASES])  # fmt: skip
def test_wrong_data_names_file_line_field_and_fix(tmp_path, task, split, edit, parts) -> None:
    data = copy_task(tmp_path, task)
    edit(data / task)
    before = snapshot(data)
    with pytest.raises(DataFormatError) as info:
        datamodule_for(task, data, tmp_path / "cache").read_split(split)
    message = str(info.value)
    assert str(data / task) in message
    positions = [message.find(part) for part in parts]
    assert -1 not in positions and positions == sorted(positions), message
    assert snapshot(data) == before
    assert half_written(tmp_path / "cache") == []


# Judgement checks (does a span mark a form of the word?) keep the row, log it with file and line, and
# count it (`stilts-data`: flagged); the official WiC training set marks words inside contractions.
# fmt: off
JUDGEMENT_CASES = [
    ("wic-offsets-on-other-word", "train", edit_row("train.jsonl", 1, lambda o: o.update(start1=3, end1=6)),
     "train.jsonl:1: start1/end1 = 3/6 marks 'sat', which is no form of the word 'bank'; kept as marked"),
    ("wic-offsets-cut-a-word", "train",
     edit_row("train.jsonl", 2, lambda o: o.update(start2=o["start2"] + 1)),
     "train.jsonl:2: start2/end2"),
    ("wic-end-inclusive", "val", edit_row("val.jsonl", 1, lambda o: o.update(end1=o["end1"] - 1)),
     "val.jsonl:1: start1/end1"),
]
# fmt: on


@pytest.mark.parametrize(("split", "edit", "logged"), [c[1:] for c in JUDGEMENT_CASES],
                         ids=[c[0] for c in JUDGEMENT_CASES])  # fmt: skip
def test_wic_judgement_checks_warn_and_count(tmp_path, caplog, split, edit, logged) -> None:
    data = copy_task(tmp_path, "wic")
    dm = datamodule_for("wic", data, tmp_path / "cache")
    rows = len(dm.read_split(split))
    assert dm.flagged(split) == {}
    edit(data / "wic")
    dm = datamodule_for("wic", data, tmp_path / "cache2")
    with caplog.at_level("WARNING"):
        assert len(dm.read_split(split)) == rows  # nothing dropped, nothing refused
    assert logged in caplog.text
    assert dm.flagged(split) == {"spans that may not mark the word (kept as marked)": 1}


# fmt: off
LABEL_CASES = [
    ("train-without-labels", "rte", "train", drop_labels("train.jsonl"),
     ["train.jsonl:", "split `train` has no gold labels in any of its 24 examples", "rte.local.files.train"]),
    ("val-without-labels", "rte", "val", drop_labels("val.jsonl"),
     ["val.jsonl:", "split `val`: 10 of its 10 examples have no gold label", "rte.local.files.val"]),
    ("val-partly-labelled", "cb", "val", drop_labels("val.jsonl", keep=2),
     ["val.jsonl:", "of its", "examples have no gold label"]),
    ("record-train-without-answers", "record", "train",
     lambda d: write_rows(d / "train.jsonl", [
         {**o, "qas": [{**q, "answers": []} for q in o["qas"]]} for o in rows(d / "train.jsonl")]),
     ["train.jsonl:", "split `train` has no gold labels"]),
]
# fmt: on


@pytest.mark.parametrize(("task", "split", "edit", "parts"), [c[1:] for c in LABEL_CASES],
                         ids=[c[0] for c in LABEL_CASES])  # fmt: skip
def test_splits_without_the_labels_a_run_needs(tmp_path, task, split, edit, parts) -> None:
    data = copy_task(tmp_path, task)
    edit(data / task)
    with pytest.raises(DataFormatError) as info:
        datamodule_for(task, data, tmp_path / "cache").featurized(split)
    message = str(info.value)
    positions = [message.find(part) for part in parts]
    assert -1 not in positions and positions == sorted(positions), message
    assert not list((tmp_path / "cache").glob("features/*.arrow"))  # stopped before featurizing


def test_boolean_labels_written_as_strings_read_as_booleans(tmp_path) -> None:
    data = copy_task(tmp_path, "boolq")
    objs = rows(data / "boolq" / "train.jsonl")
    write_rows(data / "boolq" / "train.jsonl", [{**o, "label": str(o["label"]).lower()} for o in objs])
    raw = datamodule_for("boolq", data, tmp_path / "cache").read_split("train")
    assert raw["label"] == [int(o["label"]) for o in objs]  # false -> 0, true -> 1, as from booleans


@pytest.mark.parametrize(
    ("task", "file", "split"),
    [("sst2", "train.tsv", "train"), ("rte", "train.jsonl", "train"), ("cosmosqa", "valid.csv", "val"),
     ("aj_def", "acceptability-definiteness_data.json", "train")],
)  # fmt: skip
def test_a_byte_order_mark_reads_like_the_plain_file(tmp_path, task, file, split) -> None:
    plain = datamodule_for(task, FIXTURES, tmp_path / "cache-plain").read_split(split)
    data = copy_task(tmp_path, task)
    path = data / task / file
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with_bom = datamodule_for(task, data, tmp_path / "cache").read_split(split)
    assert with_bom.to_list() == plain.to_list() and len(plain) > 0


def test_multirc_question_without_answers_is_skipped_and_counted(tmp_path) -> None:
    data = copy_task(tmp_path, "multirc")
    objs = rows(data / "multirc" / "train.jsonl")
    dropped = len(objs[0]["passage"]["questions"][0]["answers"])
    objs[0]["passage"]["questions"][0]["answers"] = []
    write_rows(data / "multirc" / "train.jsonl", objs)
    full = datamodule_for("multirc", FIXTURES, tmp_path / "cache-full").read_split("train")
    datamodule = datamodule_for("multirc", data, tmp_path / "cache")
    raw = datamodule.read_split("train")
    assert len(raw) == len(full) - dropped
    assert len(set(raw["group"])) == len(set(full["group"])) - 1  # one question fewer, groups dense
    assert sorted(set(raw["group"])) == list(range(len(set(raw["group"]))))
    report = data_report(datamodule, ["train", "val"])
    assert report["splits"]["train"]["skipped"] == {"questions without answers": 1}
    assert report["splits"]["val"]["skipped"] == {"questions without answers": 0}
    assert report["problems"] == []


def test_unreadable_file_is_named(tmp_path, monkeypatch) -> None:
    data = copy_task(tmp_path, "rte")
    target = data / "rte" / "train.jsonl"
    real_open = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == target:  # what open() raises for a file without read permission (we run as root)
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(MissingDataError, match=r"cannot read .*rte/train.jsonl \(Permission denied\).*chmod"):
        datamodule_for("rte", data, tmp_path / "cache").read_split("train")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_file_without_read_permission_is_named(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    (data / "rte" / "val.jsonl").chmod(0)
    with pytest.raises(MissingDataError, match=r"cannot read .*rte/val.jsonl"):
        datamodule_for("rte", data, tmp_path / "cache").read_split("val")


def no_hub(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("fell back to the Hub")


@pytest.mark.parametrize("kind", ["symlink-loop", "broken-symlink", "a-file"])
def test_broken_task_folder_never_falls_back_to_the_hub(tmp_path, monkeypatch, kind) -> None:
    monkeypatch.setattr("datasets.load_dataset", no_hub)
    data = tmp_path / "data"
    data.mkdir()
    folder = data / "rte"
    if kind == "symlink-loop":
        folder.symlink_to(folder)
    elif kind == "broken-symlink":
        folder.symlink_to(tmp_path / "gone")
    else:
        folder.write_text("not a folder")
    with pytest.raises(
        MissingDataError, match=r"data/rte exists but is no readable folder.*does not fall back"
    ):
        datamodule_for("rte", data, tmp_path / "cache").read_split("train")


def test_data_dir_that_is_a_symlink_loop(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("datasets.load_dataset", no_hub)
    loop = tmp_path / "data"
    loop.symlink_to(loop)
    with pytest.raises(MissingDataError, match=r"`paths.data_dir` .*data cannot be resolved"):
        datamodule_for("rte", loop, tmp_path / "cache")


HUB_FAILURES = [
    OSError("Couldn't reach 'aps/super_glue' on the Hub (LocalEntryNotFoundError)"),
    RuntimeError("Dataset scripts are no longer supported, but found super_glue.py"),
    ValueError("Unknown split 'validation'. Should be one of ['train']."),
    ConnectionError("Max retries exceeded"),
    FileNotFoundError("Revision '3de24cf' does not exist"),
]


@pytest.mark.parametrize("failure", HUB_FAILURES, ids=lambda e: type(e).__name__)
def test_any_hub_failure_names_task_dataset_revision_and_the_way_out(tmp_path, monkeypatch, failure) -> None:
    def load(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr("datasets.load_dataset", load)
    with pytest.raises(MissingDataError) as info:
        datamodule_for("rte", tmp_path / "empty", tmp_path / "cache").read_split("train")
    message = str(info.value)
    pinned = "revision `3de24cf8022e94f4ee4b9d55a6f539891524d646`"
    for part in ("task `rte`", "no local folder at", "aps/super_glue", "config `rte`", pinned,
                 f"{type(failure).__name__}: {failure}", "Download the local files",
                 f"to {tmp_path / 'empty' / 'rte'}/"):  # fmt: skip
        assert part in message, (part, message)
    assert info.value.__cause__ is failure


def test_hub_reads_the_pinned_revision(tmp_path, monkeypatch) -> None:
    import datasets

    calls: list[dict[str, Any]] = []

    def load(path: str, name: str, **kwargs: Any) -> datasets.Dataset:
        calls.append({"path": path, "name": name, **kwargs})
        return datasets.Dataset.from_dict({"question": ["q"], "passage": ["p"], "label": [1], "idx": [0]})

    monkeypatch.setattr("datasets.load_dataset", load)
    raw = datamodule_for("boolq", tmp_path / "empty", tmp_path / "cache").read_split("val")
    assert raw["label"] == [1]
    assert calls == [{"path": "aps/super_glue", "name": "boolq", "split": "validation",
                      "revision": "3de24cf8022e94f4ee4b9d55a6f539891524d646",
                      "cache_dir": str((tmp_path / "cache" / "hub").resolve())}]  # fmt: skip


HUB_TASKS = sorted(p.stem for p in (CONF_DIR / "task").glob("*.yaml") if "\nhub:" in p.read_text())


@pytest.mark.parametrize("task", HUB_TASKS)
def test_every_hub_source_is_pinned(task) -> None:
    hub = compose_cfg([f"task={task}"], config_name="data").task.hub
    text = (CONF_DIR / "task" / f"{task}.yaml").read_text()
    revision = str(hub.get("revision"))
    # A commit sha, or (said in a comment) the branch that holds the parquet files.
    assert re.fullmatch(r"[0-9a-f]{40}", revision) or (
        revision in ("main", "refs/convert/parquet") and "Not pinned to a sha" in text
    ), (task, revision)


@pytest.mark.parametrize(
    ("sentence", "word", "marked", "accepted"),
    [
        ("You make me feel naked.", "feel", "feel", True),
        ("She felt small and insignificant.", "feel", "felt", True),  # irregular, same first letter
        ("Catch the ball!", "catch", "Catch", True),
        ("They were late.", "be", "were", True),  # suppletive forms are listed
        ("He went home.", "go", "went", True),
        ("My feet are cold.", "foot", "feet", True),
        ("She lost her self-control.", "control", "self-control", True),  # a hyphenated token
        ("He sat on the bank.", "bank", "sat", False),  # another word
        ("He sat on the bank.", "bank", "ban", False),  # cut short
        ("He sat on the bank.", "bank", "bank.", True),  # the final stop is not part of a word...
        ("He sat on the banks.", "bank", "bank", False),  # ...but a cut-off letter is
    ],
)  # fmt: skip
def test_wic_span_rule(sentence, word, marked, accepted) -> None:
    start = sentence.index(marked)
    problem = wic_span_problem(sentence, start, start + len(marked), word)
    assert (problem is None) == accepted, problem


def test_wsc_span_one_word_off_is_kept_as_jiant_keeps_it() -> None:
    # The official dev set has `span2_index` 30 for "it" at word 31 (realdata wsc/val.jsonl:43).
    text = "Some day they might want to use it , but not now."
    assert wsc_char_span(text, 6, "it", "span2") == (text.index("use"), text.index("use") + 3)
    with pytest.raises(ValueError, match="span2_text 'it' is not the text at span2_index 2"):
        wsc_char_span(text, 2, "it", "span2")


@needs_realdata
@pytest.mark.parametrize(("task", "file"), [("wic", "train.jsonl"), ("wsc", "train.jsonl"),
                                            ("wsc", "val.jsonl"), ("record", "train.jsonl")])  # fmt: skip
def test_every_real_excerpt_row_passes_the_meaning_checks(tmp_path, task, file) -> None:
    data = tmp_path / "data"
    (data / task).mkdir(parents=True)
    (data / task / "val.jsonl").symlink_to(REALDATA / task / file)
    raw = datamodule_for(task, data, tmp_path / "cache").read_split("val")
    units = rows(REALDATA / task / file)
    assert len(raw) == (sum(len(u["qas"]) for u in units) if task == "record" else len(units))


def test_text_report_shows_counted_skips_and_no_problem(tmp_path) -> None:
    data = copy_task(tmp_path, "multirc")
    edit_row("train.jsonl", 1, lambda o: o["passage"]["questions"][0].update(answers=[]))(data / "multirc")
    report = data_report(datamodule_for("multirc", data, tmp_path / "cache"), ["train", "val"])
    train = format_text(report).split("  val:")[0]
    assert "skipped, questions without answers: 1" in train
    assert report["problems"] == []  # stilts-data exits 0


def test_report_flags_a_training_split_without_labels(tmp_path) -> None:
    data = copy_task(tmp_path, "rte")
    drop_labels("train.jsonl")(data / "rte")
    report = data_report(datamodule_for("rte", data, tmp_path / "cache"), ["train", "val", "test"])
    assert report["splits"]["train"]["available"] is False
    assert report["splits"]["val"]["available"] and report["splits"]["test"]["available"]
    assert len(report["problems"]) == 1 and "has no gold labels" in report["problems"][0]  # exit 2
    assert "  train: PROBLEM (" in format_text(report)


def test_hub_wic_offsets_are_checked_too(tmp_path, monkeypatch, caplog) -> None:
    import datasets

    row = {"word": "bank", "sentence1": "He sat on the bank.", "sentence2": "The bank closed.", "start1": 3,
           "end1": 6, "start2": 4, "end2": 8, "label": 0, "idx": 7}  # fmt: skip
    monkeypatch.setattr("datasets.load_dataset", lambda *a, **k: datasets.Dataset.from_list([row]))
    with caplog.at_level("WARNING"):
        raw = datamodule_for("wic", tmp_path / "empty", tmp_path / "cache").read_split("train")
    assert len(raw) == 1  # a judgement: kept, and logged with the Hub row
    assert "hub:aps/super_glue/wic:0: start1/end1 = 3/6 marks 'sat'" in caplog.text
    outside = {**row, "end1": 60}  # malformed: refused
    monkeypatch.setattr("datasets.load_dataset", lambda *a, **k: datasets.Dataset.from_list([outside]))
    with pytest.raises(DataFormatError, match=r"hub:aps/super_glue/wic:0: start1/end1 = 3/60 is not a span"):
        datamodule_for("wic", tmp_path / "empty", tmp_path / "cache2").read_split("train")
