"""Analysis of transfer results: loading, Figure 2 transfer matrix, correlations, size curves, report.

Typical use::

    from stilts.analysis import load_results, deduplicate, transfer_matrix
    runs, duplicates = deduplicate(load_results("multirun/paper_grid/2026-01-01/12-00-00"))
    matrix = transfer_matrix(runs)
"""

from stilts.analysis.bootstrap import Bootstrap, bootstrap_deltas
from stilts.analysis.correlations import Correlation, correlate, correlation_tables, holm, score_table
from stilts.analysis.curves import degenerate_counts, degenerate_runs, size_curves
from stilts.analysis.results import (
    ResultsError,
    deduplicate,
    finished_full_size,
    load_results,
    read_predictions,
    records_to_frame,
)
from stilts.analysis.runner import Outputs, run_analysis
from stilts.analysis.transfer import load_paper_matrix, transfer_matrix
from stilts.analysis.wandb_source import read_offline_run

__all__ = [
    "Bootstrap",
    "Correlation",
    "Outputs",
    "ResultsError",
    "bootstrap_deltas",
    "correlate",
    "correlation_tables",
    "deduplicate",
    "degenerate_counts",
    "degenerate_runs",
    "finished_full_size",
    "holm",
    "load_paper_matrix",
    "load_results",
    "read_offline_run",
    "read_predictions",
    "records_to_frame",
    "run_analysis",
    "score_table",
    "size_curves",
    "transfer_matrix",
]
