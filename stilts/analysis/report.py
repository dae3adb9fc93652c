"""The report: a Markdown page that embeds the figures and says what went into them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stilts.analysis.order import order_tasks
from stilts.analysis.results import BASELINE, capped_sizes, finished_full_size
from stilts.analysis.settings import RESTART_KEY, label_controls, order_labels, repeated_restarts, split_tasks

MAX_LISTED = 50  # long lists (a 1,260-cell grid's failures) are cut in the page; the CSVs have them all


def md_table(frame: pd.DataFrame, index: bool = True, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table (pandas' to_markdown needs the optional `tabulate`)."""
    table = frame.reset_index() if index else frame
    if len(table) > MAX_LISTED:
        table = table.head(MAX_LISTED)

    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{digits}g}"
        return "" if value is None or value is pd.NA else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    more = f"\n\n({len(frame) - MAX_LISTED} more rows in the CSV)" if len(frame) > MAX_LISTED else ""
    return "\n".join(lines) + more


def restart_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Finished full-size runs per cell: tasks (one row per setting, `settings.label_settings`) x
    intermediates (one column per control, `intermediate [control]`), in paper order (0 = missing).
    Each run is a distinct (restart, seed): runs of other controls or settings are never added in."""
    labelled = label_controls(frame)
    runs = finished_full_size(labelled).drop_duplicates(["task", "intermediate", *RESTART_KEY])
    tasks = order_tasks(list(frame["task"]))
    inters = ([BASELINE] if (frame["intermediate"] == BASELINE).any() else []) + order_labels(
        list(labelled["intermediate"])
    )
    counts = runs.groupby(["task", "intermediate"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=tasks, columns=inters, fill_value=0).astype(int)
    counts.index.name, counts.columns.name = "task", None
    return counts


def missing_cells(counts: pd.DataFrame) -> list[str]:
    """`intermediate -> task` cells of the grid (tasks x intermediates seen) with no finished run."""
    return [
        f"{inter} -> {task}"
        for task in counts.index
        for inter in counts.columns
        if counts.at[task, inter] == 0
    ]


@dataclass
class Report:
    """A report under construction: a title and Markdown sections, written as out/report.md."""

    title: str
    sections: list[str] = field(default_factory=list)
    preface: str = ""  # the study's own words (`notes=`), placed between the title and the sections

    def add(self, heading: str, *blocks: str) -> None:
        """Append a `##` section made of Markdown blocks (paragraphs, tables, figure links)."""
        self.sections.append("\n\n".join([f"## {heading}", *[b for b in blocks if b]]))

    def figure(self, stem: str, caption: str) -> str:
        """Markdown that embeds out/<stem>.png and links the PDF."""
        return f"![{caption}]({stem}.png)\n\n*{caption}* ([PDF]({stem}.pdf))"

    def write(self, out: Path) -> Path:
        """Write out/report.md and return its path."""
        path = out / "report.md"
        blocks = [f"# {self.title}", self.preface.strip(), *self.sections]
        path.write_text("\n\n".join(b for b in blocks if b) + "\n")
        return path


def inputs_section(frame: pd.DataFrame, kept: pd.DataFrame, dropped: pd.DataFrame) -> list[str]:
    """Markdown blocks on what went in: runs, restarts per cell, missing, failed and duplicate cells."""
    failed = kept[kept["status"] != "finished"]
    full = finished_full_size(kept)
    sized = kept[(kept["status"] == "finished") & ~kept.index.isin(full.index)]  # size-curve runs
    counts = restart_counts(kept)
    per_cell = counts.to_numpy()[counts.to_numpy() > 0]
    spread = pd.Series(per_cell).value_counts().sort_index()
    blocks = [
        f"- records read: {len(frame)}; after de-duplication: {len(kept)} "
        f"({len(dropped)} duplicates dropped)\n"
        f"- finished full-size runs: {len(full)}; size-curve runs: {len(sized)}; failed runs: {len(failed)}\n"
        f"- tasks: {counts.shape[0]}; intermediate tasks (with `none` = baseline): {counts.shape[1]}\n"
        f"- restarts per cell: "
        + (", ".join(f"{n} restart(s): {c} cell(s)" for n, c in spread.items()) or "no finished cells"),
        "Finished full-size runs per cell, each a distinct restart: task (one row per setting where a "
        "task ran under several) x intermediate (one column per control, `intermediate [control]`; "
        "`none` is the baseline, shared by every control); written to `restart_counts.csv`:",
        md_table(counts),
    ]
    capped = capped_sizes(kept)
    if len(capped):
        blocks.append(
            "**Capped intermediate training sets** (one size per task, so in the transfer matrix, not a "
            "size curve): " + ", ".join(f"{name} {size:,} examples" for name, size in capped.items()) + "."
        )
    split = split_tasks(kept)
    if not split.empty:
        blocks += [
            f"**Settings**: {split['task'].nunique()} task(s) ran under several settings (lr, dropout, "
            "precision...); each setting is a row of its own in every table, compared with the baseline "
            "runs of the same setting, never averaged with the others:",
            md_table(split, index=False),
        ]
    repeated = repeated_restarts(finished_full_size(kept))
    if not repeated.empty:
        cols = ["intermediate", "control", "task", "restart", "seed", "cell", "path"]
        blocks += [
            f"**Warning**: {len(repeated)} finished run(s) repeat a restart and seed of their cell and "
            "setting: they differ in a setting their records do not show (e.g. the optimizer), and are "
            "counted once above but averaged in the matrix; analyse one setting at a time (filter "
            "`runs.csv`):",
            md_table(repeated[cols], index=False),
        ]
    missing = missing_cells(counts)
    blocks.append(
        f"**Missing cells** ({len(missing)}, no finished run): " + ", ".join(missing[:MAX_LISTED])
        if missing
        else "**Missing cells**: none."
    )
    if failed.empty:
        blocks.append("**Failed runs**: none.")
    else:
        cols = ["intermediate", "task", "restart", "intermediate_train_size", "error", "path"]
        blocks += [
            f"**Failed runs** ({len(failed)}; `failed_runs.csv`):",
            md_table(failed[cols], index=False),
        ]
    if dropped.empty:
        blocks.append("**Duplicates**: none.")
    else:
        cols = [
            "intermediate",
            "task",
            "restart",
            "lr",
            "dropout",
            "intermediate_train_size",
            "status",
            "path",
            "kept_path",
        ]
        blocks += [
            f"**Duplicates** ({len(dropped)} records dropped; `duplicates.csv`). "
            "For each cell key (intermediate, "
            "task, restart, lr, dropout, intermediate_train_size) the kept record is a finished one if any, "
            "then the newest (latest W&B creation time, then the latest path in natural order, i.e. the "
            "newest time-stamped sweep folder); the dropped ones are not averaged in:",
            md_table(dropped[cols], index=False),
        ]
    return blocks
