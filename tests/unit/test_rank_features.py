"""Feature rows and labels per head type, the testbed's shape, and the grid-cost estimate."""

from __future__ import annotations

import pytest
import torch
import yaml

from stilts.config import CONF_DIR
from stilts.rank.cost import estimate_grid
from stilts.rank.features import RankError, row_maker
from tests.helpers import compose_cfg


def test_multiple_choice_rows_are_choices_with_binary_labels() -> None:
    rows = row_maker("copa", "stilts.models.choice_heads.MultipleChoiceHead")
    hidden = torch.arange(6 * 2 * 1, dtype=torch.float).view(6, 2, 1)  # 2 examples x 3 choices, 2 tokens
    batch = {
        "choice_mask": torch.tensor([[True, True, True], [True, True, False]]),
        "label": torch.tensor([1, 0]),
    }
    features, labels = rows(hidden, batch)
    # First-token states of the 5 real choices (sequences 0-4; sequence 5 is a filler).
    assert features[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert labels.tolist() == [0, 1, 0, 1, 0]


def test_tagging_rows_are_labelled_words() -> None:
    rows = row_maker("ep_pos_like", "stilts.models.span_heads.TokenTaggingHead")
    hidden = torch.arange(4, dtype=torch.float).view(1, 4, 1)
    features, labels = rows(hidden, {"tag_labels": torch.tensor([[-100, 3, -100, 1]])})
    assert features[:, 0].tolist() == [1.0, 3.0] and labels.tolist() == [3, 1]


def test_span_pair_rows_concatenate_first_token_and_span_means() -> None:
    rows = row_maker("wic", "stilts.models.choice_heads.MarkedSpanHead")
    hidden = torch.arange(5, dtype=torch.float).view(1, 5, 1)
    batch = {
        "span1_start": torch.tensor([1]),
        "span1_end": torch.tensor([3]),
        "span2_start": torch.tensor([4]),
        "span2_end": torch.tensor([5]),
        "label": torch.tensor([1]),
    }
    features, labels = rows(hidden, batch)
    assert features.tolist() == [[0.0, 1.5, 4.0]] and labels.tolist() == [1]


def test_wsc_rows_are_the_two_span_means_without_the_first_token() -> None:
    rows = row_maker("wsc", "stilts.models.choice_heads.SpanClassifierHead")
    hidden = torch.arange(5, dtype=torch.float).view(1, 5, 1)
    batch = {
        "span1_start": torch.tensor([1]),
        "span1_end": torch.tensor([4]),
        "span2_start": torch.tensor([0]),
        "span2_end": torch.tensor([1]),
        "label": torch.tensor([0]),
    }
    features, labels = rows(hidden, batch)
    assert features.tolist() == [[2.0, 0.0]] and labels.tolist() == [0]  # mean(1, 2, 3); token 0


@pytest.mark.parametrize("head", ["stilts.models.span_heads.SpanQAHead", "some.custom.Head"])
def test_unsupported_heads_are_refused_with_the_fix(head: str) -> None:
    with pytest.raises(RankError, match="task `t`.*method=semb"):
        row_maker("t", head)


def test_grid_estimate_counts_training_passes() -> None:
    # Two candidates (100 examples x 2 epochs, 50 x 4), target 10 examples x 5 epochs, 3 restarts:
    # intermediates 3 * (200 + 200) = 1200; targets 3 restarts * 2 candidates * 3 * 50 = 900.
    grid = estimate_grid({"a": (100, 2), "b": (50, 4)}, (10, 5), restarts=3, seconds_per_sequence=0.01)
    assert (grid.intermediate_sequences, grid.target_sequences) == (1200, 900)
    assert grid.seconds == pytest.approx(21.0)


def test_demo_selection_has_eight_candidates_and_four_targets() -> None:
    cfg = compose_cfg(["experiment=demo_selection"], config_name="rank")
    experiment = yaml.safe_load((CONF_DIR / "experiment" / "demo_selection.yaml").read_text())
    params = experiment["hydra"]["sweeper"]["params"]
    candidates = [c for c in params["task@intermediate"].split(",") if c != "none"]
    targets = params["task@target"].split(",")
    assert len(candidates) >= 8 and len(targets) >= 4 and not set(candidates) & set(targets)
    assert cfg.model.name == "tiny" and cfg.sweep_name == "demo_selection"
    assert all((CONF_DIR / "task" / f"{task}.yaml").is_file() for task in candidates + targets)
