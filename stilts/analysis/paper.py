"""This study against the paper: for every (intermediate, task) cell that both this study's transfer
matrix and the paper's Figure 2 hold, the paper's delta beside this study's delta and 95% CI, and how
often their signs agree (among the cells significant here, and among all).

A sign is that of the delta as it stands: a delta of exactly 0 (the paper prints some as 0.0 or -0.0)
has no sign and is counted apart, never as agreeing. Tasks run under several settings (rows such as
`rte [lr=1e-05]`) are not compared: the paper ran one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stilts.analysis.bootstrap import Bootstrap
from stilts.analysis.outputs import Outputs
from stilts.analysis.report import Report, md_table
from stilts.analysis.transfer import AVG_TARGET, BASELINE_COL, load_paper_matrix

COLUMNS = [
    "task",
    "intermediate",
    "paper_delta",
    "delta",
    "ci_low",
    "ci_high",
    "significant",
    "runs",
    "baseline_runs",
    "signs_agree",
]


def shared_cells(matrix: pd.DataFrame, paper: pd.DataFrame) -> list[tuple[str, str]]:
    """(task, intermediate) cells with a delta in both tables, in this study's row and column order."""
    tasks = [t for t in matrix.index if t != AVG_TARGET and t in paper.index]
    inters = [c for c in matrix.columns if c != BASELINE_COL and c in paper.columns]
    return [(t, i) for t in tasks for i in inters if pd.notna(matrix.at[t, i]) and pd.notna(paper.at[t, i])]


def compare(matrix: pd.DataFrame, paper: pd.DataFrame, boot: Bootstrap | None) -> pd.DataFrame:
    """One row per shared cell: the paper's delta, this study's delta, CI, significance and run counts.

    Args:
        matrix: This study's transfer matrix (stilts.analysis.transfer.transfer_matrix; points).
        paper: The paper's Figure 2 (`load_paper_matrix`; points).
        boot: This study's bootstrap, or None (no CIs: `significant` is then empty).
    """
    cells = boot.long().set_index(["task", "intermediate"]) if boot is not None else pd.DataFrame()
    rows = []
    for task, inter in shared_cells(matrix, paper):
        ours, theirs = float(matrix.at[task, inter]), float(paper.at[task, inter])
        found = (task, inter) in cells.index
        ci = cells.loc[(task, inter)] if found else {}
        signed = ours != 0 and theirs != 0
        rows.append(
            {
                "task": task,
                "intermediate": inter,
                "paper_delta": theirs,
                "delta": ours,
                "ci_low": ci["ci_low"] if found else np.nan,
                "ci_high": ci["ci_high"] if found else np.nan,
                "significant": bool(ci["significant"]) if found else None,
                "runs": int(ci["runs"]) if found and "runs" in ci else None,
                "baseline_runs": int(ci["baseline_runs"]) if found and "baseline_runs" in ci else None,
                "signs_agree": bool(np.sign(ours) == np.sign(theirs)) if signed else None,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def sign_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of cells whose signs agree, disagree or cannot be compared (a delta of exactly 0), for the
    cells whose CI excludes 0 here and for all shared cells."""
    groups = {"significant here": table[table["significant"] == True], "all": table}  # noqa: E712 - None is not False
    rows = {}
    for name, cells in groups.items():
        agree = cells["signs_agree"]
        rows[name] = {
            "cells": len(cells),
            "agree": int((agree == True).sum()),  # noqa: E712
            "disagree": int((agree == False).sum()),  # noqa: E712
            "zero_delta": int(agree.isna().sum()),
        }
    counts = pd.DataFrame.from_dict(rows, orient="index")
    counts.index.name = "subset"
    return counts


def paper_section(
    matrix: pd.DataFrame, boot: Bootstrap | None, path: str, result: Outputs, report: Report
) -> None:
    """`paper_comparison.csv`, `paper_sign_agreement.csv` and the report's section on them."""
    paper = load_paper_matrix(path)
    table = compare(matrix, paper, boot)
    counts = sign_agreement(table)
    result.csv(table, "paper_comparison", index=False)
    result.csv(counts, "paper_sign_agreement")
    heading = "Against the paper (Figure 2)"
    if table.empty:
        note = f"no (intermediate, task) cell of this study is in the paper's table `{path}`"
        result.notes.append(note)
        report.add(heading, f"**Nothing to compare**: {note}.")
        return
    significant = counts.loc["significant here"]
    everything = counts.loc["all"]
    report.add(
        heading,
        f"The {len(table)} (intermediate, task) cells this study shares with the paper's Figure 2 "
        f"(`{path}`; RoBERTa-large): the paper's delta beside this study's delta and 95% CI (points, "
        "each task's own metric). A different encoder and smaller data are expected to differ; the "
        f"comparison is reported as it falls. Signs agree in {everything['agree']} of "
        f"{everything['cells']} cells ({everything['disagree']} disagree, {everything['zero_delta']} "
        f"with a delta of exactly 0 on either side), and in {significant['agree']} of the "
        f"{significant['cells']} cells whose CI excludes 0 here (`paper_sign_agreement.csv`, "
        "`paper_comparison.csv`):",
        md_table(counts),
        md_table(table, index=False, digits=3),
    )
