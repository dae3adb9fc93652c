"""HubReader: a task's splits from a Hugging Face Hub dataset in parquet.

datasets 5.x loads parquet (and other data-file) repositories only, never a loading script. Each task
yaml pins the `revision` its parquet files live at, so a study reads the same rows next year. Any
failure of `datasets` (no network, offline mode, unknown repo or config, a repo that still holds a
loading script, a revision that does not exist...) becomes a MissingDataError naming the dataset, its
config and revision, and the original error; the datamodule adds the task and the local alternative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets

from stilts.errors import MissingDataError, StiltsError
from stilts.tasks.readers import Record
from stilts.tasks.values import LabelMap


class HubReader:
    """A Hugging Face Hub dataset in parquet (datasets 5.x loads no loading scripts).

    Args:
        path: Hub id, e.g. `aps/super_glue`.
        name: config name, e.g. `rte`.
        revision: commit sha (or branch) of the parquet files; pin it for reproducible studies.
        splits: stilts split -> Hub split, or a list of Hub splits concatenated in order.
        fields: canonical column -> Hub column.
        label_values: Hub label values in the order of the task's labels (default 0..n-1).
    """

    def __init__(
        self,
        path: str,
        splits: Mapping[str, str | Sequence[str]],
        fields: Mapping[str, str],
        name: str | None = None,
        revision: str | None = None,
        label_values: Sequence[Any] | None = None,
    ) -> None:
        self.path, self.name, self.revision = path, name, revision
        self.splits = {s: [h] if isinstance(h, str) else list(h) for s, h in splits.items()}
        self.fields = dict(fields)
        self.label_values = None if label_values is None else list(label_values)

    def version(self) -> str:
        """`config `rte`, revision `3de24cf...``, for messages."""
        config = f"config `{self.name}`, " if self.name else ""
        return f"{config}revision `{self.revision or 'main (not pinned)'}`"

    def load(self, hub_split: str, cache_dir: Path) -> datasets.Dataset:
        """One Hub split as `datasets` returns it; any failure of `datasets` is a MissingDataError."""
        try:
            return datasets.load_dataset(
                self.path,
                self.name,
                split=hub_split,
                revision=self.revision,
                cache_dir=str(cache_dir / "hub"),
            )
        except StiltsError:
            raise
        except Exception as err:  # noqa: BLE001 - datasets raises OSError, RuntimeError, ValueError...
            raise MissingDataError(
                f"the Hub dataset {self.path} could not be loaded ({self.version()}, split "
                f"`{hub_split}`; {type(err).__name__}: {err})"
            ) from err

    def read(self, split: str, labels: Sequence[str], cache_dir: Path) -> datasets.Dataset:
        if split not in self.splits:
            raise MissingDataError(f"the Hub source {self.path} has no split configured for `{split}`")
        values = self.label_values if self.label_values is not None else list(range(len(labels)))
        label_map = LabelMap(labels, values)
        where = f"hub:{self.path}/{self.name or ''}"
        parts = []
        for hub_split in self.splits[split]:
            raw = self.load(hub_split, cache_dir)
            missing = [c for c in self.fields.values() if c not in raw.column_names]
            if missing:
                raise StiltsError(
                    f"{where} split {hub_split} lacks columns {missing}; has {raw.column_names}"
                )
            parts.append(raw)
        raw = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]

        def canonical(row: Record, idx: int) -> Record:
            out: Record = {"idx": idx}
            for column, key in self.fields.items():
                value = row[key]
                out[column] = (
                    label_map(value if value != -1 else None, where, idx) if column == "label" else value
                )
            return out

        return raw.map(canonical, with_indices=True, remove_columns=raw.column_names, desc=f"{where} {split}")
