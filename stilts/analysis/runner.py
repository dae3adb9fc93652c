"""`run_analysis`: load a results source, write every figure (PNG + PDF), table (CSV) and report.md."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from stilts.analysis import curves, forgetting, plots
from stilts.analysis.bootstrap import Bootstrap, bootstrap_deltas
from stilts.analysis.correlations import MIN_PAIRS, correlation_tables
from stilts.analysis.outputs import Outputs
from stilts.analysis.paper import paper_section
from stilts.analysis.report import Report, inputs_section, md_table, restart_counts
from stilts.analysis.results import NO_CONTROL, deduplicate, load_results
from stilts.analysis.settings import label_settings
from stilts.analysis.transfer import load_paper_matrix, transfer_matrix
from stilts.errors import StiltsError

log = logging.getLogger(__name__)


def run_analysis(
    source: str | Path,
    out: str | Path,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    api: Any = None,
    paper: str | None = None,
    notes: str | None = None,
) -> Outputs:
    """Run the whole analysis of one results source into folder `out`.

    Args:
        source: A sweep/run folder, `wandb:ENTITY/PROJECT`, an offline W&B folder (`offline:PATH` forces it)
            or `paper:PATH` (the paper's Figure 2 CSV: only the transfer figure).
        out: Output folder (created).
        resamples: Paired-bootstrap resamples for the transfer CIs (0 turns the bootstrap off).
        seed: Bootstrap seed.
        alpha: Significance level (bootstrap CIs are 95%; Holm-Bonferroni family-wise rate).
        api: A `wandb.Api`-like object for `wandb:` sources (tests pass a fake).
        paper: The paper's Figure 2 CSV (task, baseline, one delta column per intermediate task; points):
            adds the section comparing this study's deltas with the paper's (stilts.analysis.paper).
        notes: A Markdown file whose text opens the report (the study's design and what it shows), so a
            rerun of the analysis rewrites report.md without losing it.
    """
    result = Outputs(Path(out))
    result.out.mkdir(parents=True, exist_ok=True)
    text = str(source)
    if text.startswith("paper:"):
        return paper_analysis(Path(text.removeprefix("paper:")), result)
    report = Report(f"stilts analysis of `{text}`", preface=read_notes(notes))
    rejected: list[str] = []
    frame = load_results(text, api, rejected)
    kept, dropped = deduplicate(frame)
    kept = label_settings(kept)  # a task run under several settings: one row per setting everywhere
    result.runs, result.failed, result.duplicates = (
        len(kept),
        int((kept["status"] != "finished").sum()),
        len(dropped),
    )
    result.csv(kept, "runs", index=False)
    result.csv(restart_counts(kept), "restart_counts")
    result.csv(kept[kept["status"] != "finished"], "failed_runs", index=False)
    result.csv(dropped, "duplicates", index=False)
    report.add("Inputs", *inputs_section(frame, kept, dropped))
    if rejected:
        invalid_section(rejected, result, report)
    # The paper's figures are of plain intermediate training: runs under a control against forgetting
    # have sections of their own (below) and never mix into these means.
    plain = kept[kept["control"] == NO_CONTROL]
    if len(plain) < len(kept):
        result.notes.append(f"{len(kept) - len(plain)} runs under controls: in the forgetting section only")
    matrix, boot = transfer_section(plain, result, report, resamples, seed)
    if paper:
        paper_section(matrix, boot, paper, result, report)
    correlation_section(plain, result, report, alpha)
    size_section(plain, result, report)
    degenerate_section(kept, result, report)
    if forgetting.has_measures(kept) or kept["control"].ne(NO_CONTROL).any():
        forgetting_section(kept, result, report, alpha)
    result.files.append(report.write(result.out))
    return result


def read_notes(notes: str | None) -> str:
    if notes is None:
        return ""
    path = Path(notes)
    if not path.is_file():
        raise StiltsError(
            f"notes: no file at {path}; give a Markdown file to open the report with, or drop notes="
        )
    return path.read_text(encoding="utf-8")


def invalid_section(rejected: list[str], result: Outputs, report: Report) -> None:
    """The records left out as invalid (stilts.result): listed, never plotted; invalid_records.csv."""
    table = pd.DataFrame({"record": rejected})
    result.csv(table, "invalid_records", index=False)
    result.notes.append(f"{len(rejected)} invalid result record(s) left out: see invalid_records.csv")
    report.add(
        "Invalid records (left out)",
        f"{len(rejected)} result record(s) could not be used (a newer schema, a wrong type, or a score "
        "outside its metric's range) and are in no table or figure:",
        md_table(table, index=False),
    )


def paper_analysis(path: Path, result: Outputs) -> Outputs:
    """Render the paper's own Figure 2 in the package's style (no runs, so nothing else to draw)."""
    matrix = load_paper_matrix(path)
    result.csv(matrix, "transfer_matrix")
    result.figure(plots.plot_transfer(matrix, title="Figure 2 (paper)"), "transfer_matrix")
    report = Report(f"Figure 2 of Pruksachatkun et al. (2020) from `{path}`")
    report.add(
        "Transfer matrix (Figure 2)",
        "Values as printed in the paper (points). Baseline column: RoBERTa-large without an intermediate "
        "task; other columns: intermediate minus baseline. The paper gives no per-example predictions, "
        "so there are no bootstrap markers.",
        report.figure("transfer_matrix", "Figure 2 as published"),
    )
    result.notes.append("paper source: only the transfer matrix is drawn")
    result.files.append(report.write(result.out))
    return result


def transfer_section(
    kept: pd.DataFrame, result: Outputs, report: Report, resamples: int, seed: int
) -> tuple[pd.DataFrame, Bootstrap | None]:
    """Figure 2 with bootstrap markers: transfer_matrix.{csv,png,pdf}, transfer_bootstrap.csv."""
    matrix = transfer_matrix(kept)
    result.csv(matrix, "transfer_matrix")
    boot = bootstrap_deltas(kept, resamples, seed) if resamples > 0 else None
    has_ci = boot is not None and not boot.delta.empty
    if has_ci:
        result.csv(boot.long(), "transfer_bootstrap", index=False)
    title = "Transfer: intermediate minus baseline (points)" + (", * = 95% CI excludes 0" if has_ci else "")
    result.figure(plots.plot_transfer(matrix, boot.significant if has_ci else None, title), "transfer_matrix")
    text = (
        "Each cell: mean over restarts of the intermediate-then-task runs minus the mean of the baseline "
        "(`none`) runs, in points; the baseline column is the baseline mean (not colour-scaled). "
        "`avg_target` is the mean over the target tasks present of each column (as in the paper)."
    )
    if has_ci:
        text += (
            f" `*`: the 95% paired bootstrap CI ({resamples} resamples of dev examples, seed {seed}, same "
            "resample for intermediate and baseline runs) excludes 0. Each resample recomputes every run's "
            "score on the task's own main metric (accuracy, F1, macro F1, MCC or their mean, as the task "
            "scores; `metric` in `transfer_bootstrap.csv`, beside the CI and the runs on each side), "
            "after checking that the score recomputed on all examples equals the run's recorded one."
        )
    elif boot is not None and boot.skipped:
        text += " No bootstrap markers: no task's main metric could be recomputed from its predictions."
        result.notes.append("transfer matrix without bootstrap CIs: " + ", ".join(boot.skipped))
    else:
        text += " No bootstrap markers: no per-example predictions were available for this source."
        result.notes.append("no predictions.jsonl: transfer matrix without bootstrap CIs")
    if boot is not None and boot.skipped:
        text += " Tasks without CIs: " + "; ".join(f"{t}: {why}" for t, why in boot.skipped.items()) + "."
    report.add("Transfer matrix (Figure 2)", text, report.figure("transfer_matrix", "Transfer matrix"))
    return matrix, boot if has_ci else None


def correlation_section(kept: pd.DataFrame, result: Outputs, report: Report, alpha: float) -> None:
    """Figures 3-5: correlation_<rows>_<cols>_<method>.{csv,png,pdf} and the p-values CSVs."""
    tables = correlation_tables(kept, alpha)
    intro = (
        "Scores of two tasks are paired over runs that share intermediate task and restart (baseline runs "
        f"left out). Spearman and Pearson (scipy.stats); pairs with fewer than {MIN_PAIRS} points are NaN. "
        f"Cells are shown only when significant at alpha = {alpha} after Holm-Bonferroni over the whole "
        "table (each unordered pair once in target x target); blank cells are insignificant."
    )
    if not tables:
        note = "correlation figures skipped: they need a probing and a target task, or two target tasks"
        result.notes.append(note)
        report.add("Correlations (Figures 3-5)", intro, f"**Skipped**: {note} in the results.")
        return
    blocks = [intro]
    for key, corr in tables.items():
        stem = f"correlation_{key}"
        result.csv(corr.r, stem)
        result.csv(corr.p, f"{stem}_pvalues")
        result.csv(corr.n, f"{stem}_pairs")
        rows, cols, method = key.rsplit("_", 2)
        caption = f"{method.title()} correlation, {rows} (rows) x {cols} (columns); Holm alpha = {alpha}"
        result.figure(plots.plot_correlation(corr, caption), stem)
        pairs = corr.n.to_numpy()[corr.n.to_numpy() > 0]  # the target x target diagonal is not a test
        blocks.append(
            f"### {key}\n\nPaired runs per cell: {pairs.min(initial=0)}-{pairs.max(initial=0)}; "
            "significant cells: "
            f"{int(corr.significant.to_numpy().sum())} of {int(corr.p.notna().to_numpy().sum())} tested.\n\n"
            + report.figure(stem, caption)
        )
    report.add("Correlations (Figures 3-5)", *blocks)


def size_section(kept: pd.DataFrame, result: Outputs, report: Report) -> None:
    """Figure 6: size_curves.{csv,png,pdf} from runs with `intermediate_train_size`."""
    table = curves.size_curves(kept)
    result.csv(table, "size_curves", index=False)
    if table.empty:
        note = "size curves skipped: no intermediate task ran at several training-set sizes"
        result.notes.append(note)
        report.add("Intermediate training-set size (Figure 6)", f"**Skipped**: {note}.")
        return
    result.figure(plots.plot_size_curves(table), "size_curves")
    report.add(
        "Intermediate training-set size (Figure 6)",
        "Score against the number of intermediate training examples, one line per task, one panel per "
        "intermediate task; points are means over restarts, bars one standard deviation.",
        report.figure("size_curves", "Score against intermediate training-set size"),
    )


def degenerate_section(kept: pd.DataFrame, result: Outputs, report: Report) -> None:
    """Degenerate runs (not above the majority-class / chance score): counts and list CSVs."""
    counts, runs = curves.degenerate_counts(kept), curves.degenerate_runs(kept)
    result.csv(counts, "degenerate_counts")
    result.csv(runs, "degenerate_runs", index=False)
    baselines = curves.baseline_table(kept)
    result.csv(baselines, "baselines")
    report.add(
        "Baselines against the majority class",
        "Per task: the mean (and standard deviation over restarts) of the baseline runs (no intermediate "
        "task), the majority-class score of its dev set (chance for multiple choice; from the records), "
        "the margin above it, and the baseline runs and how many of them were degenerate, in points "
        "(`baselines.csv`):",
        md_table(baselines, digits=3) if len(baselines) else "No baseline runs.",
    )
    report.add(
        "Degenerate runs",
        f"{len(runs)} finished run(s) did not score above the majority-class / chance score. Counts by "
        "task x intermediate (`degenerate_counts.csv`; list in `degenerate_runs.csv`):",
        md_table(counts),
        md_table(
            runs.assign(main=runs["main"] * 100, majority_baseline=runs["majority_baseline"] * 100),
            index=False,
        )
        if len(runs)
        else "",
    )


def forgetting_section(kept: pd.DataFrame, result: Outputs, report: Report, alpha: float) -> None:
    """Forgetting measures per intermediate encoder, their correlation with transfer (forgetting_*.csv,
    scatter plot), and the transfer matrix per control with its positive / negative cell counts."""
    blocks = []
    if forgetting.has_measures(kept):
        table = forgetting.measure_table(kept)
        result.csv(table, "forgetting_measures")
        blocks += [
            *forgetting.unavailable_notes(kept),
            "Per intermediate encoder (mean over restarts; `none` is the pretrained encoder itself): "
            "masked-LM loss on the held-out sample read out by the pretrained MLM head and its increase "
            "over the pretrained encoder's (where the model has one), relative weight change, and linear "
            "CKA with the pretrained encoder (last layer; mean over layers). `forgetting_measures.csv`:",
            md_table(table),
        ]
        if "mlm_loss" in table:
            result.figure(forgetting.plot_mlm_loss(table), "forgetting_mlm_loss")
            caption = "MLM loss per intermediate encoder and control; dashed: the pretrained encoder's"
            blocks.append(report.figure("forgetting_mlm_loss", caption))
        for method, corr in forgetting.forgetting_correlations(kept, alpha).items():
            stem = f"forgetting_correlation_{method}"
            result.csv(corr.r, stem)
            result.csv(corr.p, f"{stem}_pvalues")
            result.csv(corr.n, f"{stem}_pairs")
            caption = f"{method.title()}: forgetting measure x transfer per task; Holm alpha = {alpha}"
            result.figure(plots.plot_correlation(corr, caption), stem)
            blocks.append(report.figure(stem, caption))
        measure = forgetting.scatter_measure(kept)
        result.figure(forgetting.plot_forgetting_scatter(kept, measure), "forgetting_scatter")
        blocks.append(
            "Each point is one intermediate encoder (control x intermediate task x restart); transfer is its "
            "run's score minus the task's baseline mean.\n\n"
            + report.figure("forgetting_scatter", f"Transfer against {measure}")
        )
    matrices = forgetting.control_matrices(kept)
    if len(matrices) > 1:
        for control, matrix in matrices.items():
            result.csv(matrix, f"transfer_matrix_{control}")
            result.figure(
                plots.plot_transfer(matrix, title=f"control: {control}"), f"transfer_matrix_{control}"
            )
        counts = forgetting.transfer_counts(matrices)
        result.csv(counts, "transfer_by_control")
        blocks += [
            "### Transfer per control\n\nThe transfer matrix of each control's intermediate encoders "
            "against the same baseline runs, and its positive / negative transfer cells "
            "(`transfer_by_control.csv`; changes against `none`):",
            md_table(counts, digits=2),
            " ".join(f"![{c}](transfer_matrix_{c}.png)" for c in matrices),
        ]
    report.add("Forgetting", *blocks)
