"""The demo's data folder records what it was made with; a folder made otherwise is refused, untouched."""

from __future__ import annotations

import pytest

from stilts.demo.run import prepare_data


def test_demo_data_made_with_other_settings_is_refused_and_kept(tmp_path) -> None:
    data = tmp_path / "demo" / "data"
    prepare_data(data, sentences=300, seed=0, target_examples=20)
    agreement = (data / "demo_agree" / "agreement.txt").read_bytes()
    prepare_data(data, sentences=300, seed=0, target_examples=20)  # the same settings: reused
    with pytest.raises(SystemExit, match="other settings.*target_examples.*Delete"):
        prepare_data(data, sentences=300, seed=0, target_examples=40)
    assert (data / "demo_agree" / "agreement.txt").read_bytes() == agreement


def test_data_of_an_earlier_demo_without_a_record_is_refused(tmp_path) -> None:
    data = tmp_path / "data"
    (data / "forgetting").mkdir(parents=True)
    (data / "forgetting" / "heldout.txt").write_text("An old sentence .\n")
    with pytest.raises(SystemExit, match="by an earlier demo"):
        prepare_data(data, sentences=300, seed=0)
    assert (data / "forgetting" / "heldout.txt").read_text() == "An old sentence .\n"
