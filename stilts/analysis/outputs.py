"""`Outputs`: the files an analysis writes (CSV tables, PNG + PDF figures) and what it left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from stilts.analysis import plots


@dataclass
class Outputs:
    """What an analysis wrote and what it had to leave out."""

    out: Path
    runs: int = 0
    failed: int = 0
    duplicates: int = 0
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def csv(self, frame: pd.DataFrame, name: str, index: bool = True) -> None:
        """Write out/<name>.csv and remember it."""
        path = self.out / f"{name}.csv"
        # 6 decimals drop float noise (a delta of -1e-14 is 0); + 0.0 turns the -0.0 rounding leaves into 0.
        numeric = frame.select_dtypes("float").columns
        frame = frame.assign(**{c: frame[c].round(6) + 0.0 for c in numeric})
        frame.to_csv(path, index=index)
        self.files.append(path)

    def figure(self, fig: Any, stem: str) -> None:
        """Write out/<stem>.png and .pdf and remember them."""
        self.files += plots.save_figure(fig, self.out, stem)

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [
            f"analysis written to {self.out}: {len(self.files)} files, report {self.out / 'report.md'}",
            f"runs: {self.runs}, failed: {self.failed}, duplicates dropped: {self.duplicates}",
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])
