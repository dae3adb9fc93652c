"""Task order and groups in the analysis come from configs and results, not from name lists."""

from __future__ import annotations

from stilts.analysis.order import config_group, order_intermediates, order_tasks


def test_groups_follow_the_task_yamls_and_their_family_bases() -> None:
    assert config_group("rte") == "target"
    assert config_group("ep_pos") == "edge_probing"  # conf/task_family/edge_probing.yaml
    assert config_group("ep_srl") == "edge_probing"  # via edge_probing_pair -> edge_probing
    assert config_group("se_tense") == "senteval"
    assert config_group("aj_cola") == "acceptability"  # its own `family`, over the GLUE base's
    assert config_group("no_such_task") is None


def test_rows_group_by_role_and_family_in_the_paper_order_with_new_tasks_last_in_their_group() -> None:
    # Worked by hand from conf/paper_tasks.yaml: targets (cb before rte), then edge probing,
    # SentEval, acceptability; tasks the paper does not list close their group alphabetically.
    tasks = ["aj_wh", "my_probe", "se_tense", "rte", "my_target", "ep_pos", "cb", "se_wc"]
    groups = {"my_probe": "senteval", "my_target": "target"}
    assert order_tasks(tasks, groups) == [
        "cb",
        "rte",
        "my_target",
        "ep_pos",
        "se_wc",
        "se_tense",
        "my_probe",
        "aj_wh",
    ]


def test_columns_in_the_paper_order_with_new_intermediates_last() -> None:
    assert order_intermediates(["mnli", "zeta", "qamr", "none", "alpha"]) == ["qamr", "mnli", "alpha", "zeta"]
