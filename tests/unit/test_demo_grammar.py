"""The demo grammar: seeded, fast, grammatical by construction, tasks readable and balanced."""

from __future__ import annotations

import time
from collections import Counter

from hydra.utils import instantiate

from stilts.demo.grammar import (
    ANIMATE,
    DEMO_TASKS,
    INTRANSITIVE,
    THINGS,
    TRANSITIVE,
    Grammar,
    article_for,
    write_demo_data,
)
from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg

THIRD_PERSON = {v[1] for v in TRANSITIVE + INTRANSITIVE}
BASE = {v[0] for v in TRANSITIVE + INTRANSITIVE}
PLURAL_NOUNS = {n[1] for n in ANIMATE + THINGS}
SINGULAR_NOUNS = {n[0] for n in ANIMATE + THINGS}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = write_demo_data(tmp_path / "a", seed=1, n_sentences=300, n_intermediate=40, n_target=20)
    b = write_demo_data(tmp_path / "b", seed=1, n_sentences=300, n_intermediate=40, n_target=20)
    c = write_demo_data(tmp_path / "c", seed=2, n_sentences=300, n_intermediate=40, n_target=20)
    assert set(a) == {"corpus", *DEMO_TASKS}
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    assert a["corpus"].read_bytes() != c["corpus"].read_bytes()


def test_full_size_generation_is_fast(tmp_path):
    started = time.monotonic()
    written = write_demo_data(tmp_path, seed=0)
    assert time.monotonic() - started < 10
    lines = written["corpus"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20000
    vocabulary = {w.lower() for line in lines for w in line.split()}
    assert 200 <= len(vocabulary) <= 400


def test_tasks_are_readable_and_balanced(tmp_path):
    write_demo_data(tmp_path, seed=3, n_sentences=50, n_intermediate=60, n_target=40)
    for task in DEMO_TASKS:
        cfg = compose_cfg([f"task@target={task}", f"paths.data_dir={tmp_path}"])
        spec = TaskSpec.from_config(cfg.target, key="target")
        reader = instantiate(spec.cfg.local)
        for split, size in (("train", 60), ("val", 8), ("test", 8)):
            if task == "demo_agree":
                size = {"train": 40, "val": 20, "test": 20}[split]
            data = reader.read(tmp_path / task, split, list(spec.labels), tmp_path / "cache")
            assert len(data) == size, (task, split)
            assert Counter(data["label"]) == {0: size // 2, 1: size // 2}, (task, split)


def test_present_tense_verbs_agree_with_their_subjects():
    grammar = Grammar(seed=11)
    for _ in range(500):
        sentence = grammar.declarative(tense="PRES", attractor=grammar.coin() if grammar.coin() else None)
        verb = sentence.tokens[sentence.verb_index]
        assert verb in (BASE if sentence.subject_plural else THIRD_PERSON), sentence.text
        # The subject's head noun (last noun before any attractor) has the subject's number.
        nouns = [t for t in sentence.tokens[: sentence.verb_index] if t in PLURAL_NOUNS | SINGULAR_NOUNS]
        assert (nouns[0] in PLURAL_NOUNS) == sentence.subject_plural, sentence.text
    for _ in range(200):
        question = grammar.question(tense="PRES")
        aux_or_verb = question.tokens[question.verb_index]
        assert aux_or_verb in {"do", "does"} | THIRD_PERSON, question.text
        if aux_or_verb in {"do", "does"}:
            assert (aux_or_verb == "do") == question.subject_plural, question.text


def test_corpus_articles_and_determiners_are_well_formed(tmp_path):
    corpus = write_demo_data(tmp_path, seed=4, n_sentences=2000, n_intermediate=8, n_target=8)["corpus"]
    for line in corpus.read_text(encoding="utf-8").splitlines():
        tokens = line.split()
        assert tokens[-1] in {".", "?"} and tokens[0][0].isupper(), line
        for word, after in zip(tokens, tokens[1:], strict=False):
            if word.lower() in ("a", "an"):
                assert word.lower() == article_for(after), line
            if word.lower() in ("a", "an", "every", "this") and after in PLURAL_NOUNS:
                raise AssertionError(f"singular determiner before a plural noun: {line}")
            if word.lower() in ("many", "these", "those", "some") and after in SINGULAR_NOUNS:
                raise AssertionError(f"plural determiner before a singular noun: {line}")


def test_agreement_target_labels_match_the_verb(tmp_path):
    path = write_demo_data(tmp_path, seed=6, n_sentences=10, n_intermediate=8, n_target=200)["demo_agree"]
    for row in path.read_text(encoding="utf-8").splitlines():
        _, label, sentence = row.split("\t")
        tokens = sentence.split()
        # Sentences start with a determiner and the subject's head noun is the first noun.
        head = next(t for t in tokens if t in PLURAL_NOUNS | SINGULAR_NOUNS)
        # The main verb is the first finite verb after the subject that is not in a relative clause.
        position = tokens.index(head) + 1
        while position < len(tokens):
            if tokens[position] == "that":
                position += 2  # skip the relative clause's verb
            elif tokens[position] in BASE | THIRD_PERSON and tokens[position - 1] not in {"that"}:
                break
            else:
                position += 1
        verb = tokens[position]
        agrees = (verb in BASE) == (head in PLURAL_NOUNS)
        assert agrees == (label == "acceptable"), row
