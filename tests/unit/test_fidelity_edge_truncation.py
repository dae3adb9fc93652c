"""Edge probing's truncation against jiant v1 (issue 24, item 5; kept, measured).

jiant never truncates an edge-probing sentence (jiant/tasks/edge_probing.py: `max_seq_len` "currently
ignored"); stilts cuts each sentence to `model.max_length - 2` = 254 sub-tokens, like every other task,
and drops the targets the cut reaches (`stilts-data` counts them). These tests count, independently,
the targets past the 254th sub-token and compare with what the featurizer drops.
"""

from __future__ import annotations

import datasets
import pytest

from stilts.models.encoder import load_tokenizer
from stilts.tasks.edge_probing import EdgeProbingFeaturizer
from stilts.tasks.ep_converters import ConlluReader
from stilts.tasks.spec import TaskSpec
from stilts.tasks.values import LabelMap
from tests.helpers import REALDATA, compose_cfg, needs_realdata

PAPER_LENGTH = 256  # jiant's max_seq_len (base_edgeprobe.conf:20), stilts' model.max_length


def beyond_254(tokenizer, text: str, span1: list[list[int]], span2: list[list[int]]) -> int:
    """Targets one of whose spans ends in a word whose last sub-token lies past the 254th, counted
    from the words alone (each tokenised with the space before it, as inside the sentence)."""
    ends, total = [], 0
    for word in text.split():
        total += len(tokenizer(word if not ends else " " + word, add_special_tokens=False)["input_ids"])
        ends.append(total)
    return sum(
        max(ends[a[1] - 1], ends[b[1] - 1]) > PAPER_LENGTH - 2 for a, b in zip(span1, span2, strict=True)
    )


def features(records: list[dict]) -> datasets.Dataset:
    return datasets.Dataset.from_list(records)


def test_a_sentence_longer_than_254_sub_tokens_loses_the_targets_past_the_cut() -> None:
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    text = " ".join(["word"] * 300)
    spans = [[k, k + 1] for k in range(0, 300, 10)]
    record = {"idx": 0, "text": text, "span1": spans, "span2": spans, "labels": [[1]] * len(spans)}
    facts = EdgeProbingFeaturizer(two_spans=True).describe(features([record]), tokenizer, PAPER_LENGTH)
    cut = beyond_254(tokenizer, text, spans, spans)
    assert cut > 0  # jiant would keep these (and the whole sentence)
    assert facts["targets dropped (cut by truncation)"] == cut


@needs_realdata
def test_the_real_ud_excerpt_loses_no_target() -> None:
    path = REALDATA / "ep_ud" / "dependencies.conllu"
    if not path.is_file():
        pytest.skip("no UD excerpt")
    spec = TaskSpec.from_config(compose_cfg(["task@target=ep_ud", "model=tiny"]).target, key="target")
    records = list(ConlluReader({"train": path.name}).records([path], LabelMap(spec.labels, None)))
    tokenizer = load_tokenizer(compose_cfg(["model=tiny"]).model)
    records = [{"idx": i, **r} for i, r in enumerate(records)]
    facts = EdgeProbingFeaturizer(two_spans=True).describe(features(records), tokenizer, PAPER_LENGTH)
    expected = sum(beyond_254(tokenizer, r["text"], r["span1"], r["span2"]) for r in records)
    assert facts["targets dropped (cut by truncation)"] == expected == 0  # docs/fidelity.md's measured size
