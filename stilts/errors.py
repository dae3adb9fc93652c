"""Errors that name the file, line or config key at fault."""

from __future__ import annotations

from pathlib import Path


class StiltsError(Exception):
    """Base class of every error stilts raises on purpose."""


class DataFormatError(StiltsError):
    """A local data file does not match the format its task expects."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line


class MissingDataError(StiltsError):
    """A split the run needs cannot be found."""


class ConfigError(StiltsError):
    """A config value is missing or invalid; the message names the key."""


class CheckpointError(StiltsError):
    """A checkpoint or cached encoder is damaged, incomplete or unsafe to load; the message names it."""


class StorageError(StiltsError):
    """A file cannot be written (a full disk, a read-only folder); the message names the path."""
