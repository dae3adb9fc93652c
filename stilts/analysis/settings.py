"""Settings that change a run's result are kept apart in every table: never counted, paired or averaged
together as if they were restarts.

A run's setting is its control (which acts on the intermediate stage only) and the record fields
`SETTING_FIELDS` (model, precision, lr, dropout, batch size, epochs, max length, schedule); the
intermediate training-set size has tables of its own (Figure 6). The analysis labels each run before
any table is built:

- a task whose finished runs differ in a setting field becomes one row per setting,
  `rte [lr=1e-05]`, naming only the fields that differ (baseline and intermediate runs of the same
  setting stay paired);
- a run under a control other than `none` gets the intermediate label `mnli [l2sp]` wherever a table
  shows controls side by side (run counts, degenerate runs, size curves).
"""

from __future__ import annotations

import pandas as pd

from stilts.analysis.order import order_intermediates
from stilts.analysis.records import NO_CONTROL, SETTING_FIELDS

TASK_NAME = "task_name"  # the unlabelled task name, kept beside the label (e.g. for the paper's table)
RESTART_KEY = ["restart", "seed"]  # two runs of one setting are distinct restarts when these differ


def text(value: object) -> str:
    """A setting value as it appears in a label (1e-05, 0.1, 32-true); missing values as `?`."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def differing_fields(runs: pd.DataFrame) -> list[str]:
    """The `SETTING_FIELDS` whose value differs between the given runs (missing counts as a value)."""
    return [f for f in SETTING_FIELDS if f in runs and runs[f].map(text).nunique() > 1]


def label_settings(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `task` relabelled `task [field=value, ...]` for every task whose finished runs differ
    in a setting field, and the plain name kept in `task_name`. Tasks run under one setting keep their
    name, so a grid of one setting gives the tables it always gave."""
    out = frame.assign(**{TASK_NAME: frame["task"]})
    finished = frame[frame["status"] == "finished"]
    for task, runs in finished.groupby("task"):
        fields = differing_fields(runs)
        if not fields:
            continue
        rows = out.index[out["task"] == task]
        labels = [f"{task} [" + ", ".join(f"{f}={text(out.at[i, f])}" for f in fields) + "]" for i in rows]
        out.loc[rows, "task"] = labels
    return out


def label_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `intermediate` relabelled `intermediate [control]` for runs under a control."""
    under = frame["control"].fillna(NO_CONTROL) != NO_CONTROL
    labels = frame["intermediate"].where(~under, frame["intermediate"] + " [" + frame["control"] + "]")
    return frame.assign(intermediate=labels)


def split_tasks(frame: pd.DataFrame) -> pd.DataFrame:
    """Tasks shown as several rows (one per setting): task, row label and the differing fields."""
    labelled = frame[frame["task"] != frame[TASK_NAME]]
    rows = labelled[[TASK_NAME, "task"]].drop_duplicates().sort_values([TASK_NAME, "task"])
    return rows.rename(columns={TASK_NAME: "task", "task": "row"}).reset_index(drop=True)


def repeated_restarts(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished runs that share task, intermediate, control, setting, restart and seed with another one:
    they differ in something their records do not show, so they are listed rather than counted twice."""
    key = ["task", "intermediate", "control", *RESTART_KEY]
    return runs[runs.duplicated(key, keep=False)].sort_values([*key, "path"])


def order_labels(labels: list[str]) -> list[str]:
    """Intermediate labels (`mnli`, `mnli [l2sp]`) in paper order of the task, its control after the
    plain column; the baseline left out."""
    bases = order_intermediates([label.split(" [")[0] for label in labels])
    rank = {name: i for i, name in enumerate(bases)}
    named = {label for label in labels if label.split(" [")[0] in rank}
    return sorted(named, key=lambda label: (rank[label.split(" [")[0]], " [" in label, label))
