"""`stilts-probes`: tasks derived from a small corpus, read back by the task readers, by seed."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest
from hydra.utils import instantiate

from stilts.demo.grammar import write_demo_data
from stilts.errors import DataFormatError
from stilts.models.encoder import load_tokenizer
from stilts.probes import TASK_NAMES, main, make_probes
from stilts.probes.corpus import fold_assignment, tokenize
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg

FILES = {
    "se_sentlen": ["sentence_length.txt"],
    "se_wc": ["word_content.txt"],
    "se_bshift": ["bigram_shift.txt"],
    "se_coordinv": ["coordination_inversion.txt"],
    "se_somo": ["odd_man_out.txt"],
    "aj_eos": ["acceptability-eos_data.json", "acceptability-eos_metadata.json"],
    "aj_def": ["acceptability-definiteness_data.json", "acceptability-definiteness_metadata.json"],
    "aj_coord": [
        "acceptability-coordinating-conjunctions_data.json",
        "acceptability-coordinating-conjunctions_metadata.json",
    ],
    "aj_wh": ["acceptability-whwords_data.json", "acceptability-whwords_metadata.json"],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    # A small corpus written here: 1,500 lines of the demo grammar (coordination, articles,
    # wh-questions, relative clauses) plus a few hand-written lines.
    folder = tmp_path_factory.mktemp("corpus")
    path = write_demo_data(folder, seed=5, n_sentences=1500, n_intermediate=8, n_target=8)["corpus"]
    with path.open("a", encoding="utf-8") as handle:
        handle.write('\nEither the cat or the dog ate it, and nobody saw.\nWho said "no"?\n')
    return path


def make(corpus: Path, out: Path, seed: int = 3) -> dict:
    return make_probes(corpus, out, seed=seed, min_per_label=5, wc_words=20)


def test_tokenize_splits_punctuation():
    assert tokenize('He said: "go," then left.') == [
        "He",
        "said",
        ":",
        '"',
        "go",
        ",",
        '"',
        "then",
        "left",
        ".",
    ]


def test_every_task_is_written_and_read_back_balanced(tmp_path, corpus):
    written = make(corpus, tmp_path / "out")
    assert set(written) == set(TASK_NAMES)
    for task, names in FILES.items():
        assert [p.name for p in written[task]["files"]] == names
        assert all((tmp_path / "out" / task / name).is_file() for name in names)
        cfg = compose_cfg([f"task@target={task}", f"paths.data_dir={tmp_path / 'out'}", "model=tiny"])
        spec = TaskSpec.from_config(cfg.target, key="target")
        # The datamodule gives open label sets (se_wc) their labels from the training partition.
        spec = TaskDataModule(spec, load_tokenizer(cfg.model), tmp_path / "out", tmp_path / "cache").spec
        reader = instantiate(spec.cfg.local)
        counts: Counter = Counter()
        total = 0
        for split in ("train", "val", "test"):
            data = reader.read(tmp_path / "out" / task, split, list(spec.labels), tmp_path / "cache")
            assert len(data) > 0, (task, split)
            counts.update(spec.labels[i] for i in data["label"])
            total += len(data)
        assert total == written[task]["examples"]
        per_label = written[task]["per_label"]
        assert set(counts.values()) == {per_label}, (task, counts)  # balanced labels
        assert sorted(counts) == written[task]["labels"]


def test_same_seed_same_files_other_seed_other_files(tmp_path, corpus):
    make(corpus, tmp_path / "a", seed=3)
    make(corpus, tmp_path / "b", seed=3)
    make(corpus, tmp_path / "c", seed=4)
    for task, names in FILES.items():
        for name in names:
            a = (tmp_path / "a" / task / name).read_bytes()
            assert a == (tmp_path / "b" / task / name).read_bytes(), (task, name)
    assert (tmp_path / "a/se_bshift/bigram_shift.txt").read_bytes() != (
        tmp_path / "c/se_bshift/bigram_shift.txt"
    ).read_bytes()


def test_inverted_and_shifted_sentences_keep_their_words(tmp_path, corpus):
    make(corpus, tmp_path)
    for task in ("se_coordinv", "se_bshift"):
        file = tmp_path / task / FILES[task][0]
        text = corpus.read_text(encoding="utf-8").lower()
        originals = {tuple(sorted(tokenize(line))) for line in text.splitlines()}
        changed = [x.split("\t") for x in file.read_text(encoding="utf-8").splitlines()]
        for _, label, sentence in changed:
            if label == "I":  # the same words, in another order
                assert tuple(sorted(sentence.lower().split())) in originals


def test_fold_assignment_rotates_test_and_dev():
    # Chunk 0 is fold 1's test chunk and fold 2's dev chunk; chunk 9 is fold 1's dev chunk.
    assert fold_assignment(0)["fold1"] == "test" and fold_assignment(0)["fold2"] == "dev"
    assert fold_assignment(9)["fold1"] == "dev" and fold_assignment(9)["fold10"] == "test"
    assert Counter(fold_assignment(4).values()) == {"train": 8, "dev": 1, "test": 1}


def test_too_few_sentences_skips_the_task_with_a_warning(tmp_path, caplog):
    corpus = tmp_path / "small.txt"
    corpus.write_text("The cat sat on the mat .\nA dog ran .\n", encoding="utf-8")
    names = ["se_bshift", "aj_wh"]
    with caplog.at_level(logging.WARNING):
        written = make_probes(corpus, tmp_path / "out", names=names, min_per_label=5)
    assert written == {}
    for name in names:
        assert f"skipping {name}" in caplog.text
    assert not (tmp_path / "out" / "se_bshift").exists()


def test_empty_corpus_is_an_error(tmp_path):
    corpus = tmp_path / "empty.txt"
    corpus.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="empty.txt: the corpus holds no sentences"):
        make_probes(corpus, tmp_path / "out")


def test_command_line(tmp_path, corpus, caplog):
    with caplog.at_level(logging.INFO):
        main(
            [
                str(corpus),
                str(tmp_path / "out"),
                "--seed",
                "2",
                "--tasks",
                "se_bshift",
                "--max-sentences",
                "400",
            ]
        )
    assert (tmp_path / "out" / "se_bshift" / "bigram_shift.txt").is_file()
    assert not (tmp_path / "out" / "aj_wh").exists()
    assert "read 400 sentences" in caplog.text
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing.txt"), str(tmp_path / "out")])
    assert exit_info.value.code == 2
