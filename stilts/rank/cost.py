"""What a ranking cost, beside what training the candidates and their target cells would cost.

Measured: encoder forward passes (sequences read), wall time, and which intermediate encoders had
to be trained for the ranking (their training time is part of the wall time).

Estimated grid cost, in the same unit: training reads every training sequence once forward and
once backward per epoch; a backward pass costs about two forward passes, so a training epoch is
counted as 3 x its sequences. Epochs are the task's epoch limit (an upper bound: early stopping
can end sooner). The grid a ranking replaces is, per candidate, its intermediate training and
`restarts` target cells; seconds are converted with this ranking's measured seconds per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRAIN_PASS_FACTOR = 3  # forward + backward ~ 3 forward passes


@dataclass
class Cost:
    """Measured cost of one ranking."""

    sequences: int = 0
    wall_s: float = 0.0
    train_wall_s: float = 0.0
    trained: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)

    @property
    def seconds_per_sequence(self) -> float:
        """Wall time per encoder sequence, excluding intermediate training."""
        return (self.wall_s - self.train_wall_s) / max(self.sequences, 1)


@dataclass(frozen=True)
class GridEstimate:
    """Training cost of the cells a ranking replaces, in sequences and estimated seconds."""

    intermediate_sequences: int
    target_sequences: int
    seconds: float

    @property
    def sequences(self) -> int:
        return self.intermediate_sequences + self.target_sequences


def training_sequences(train_size: int, epochs: int) -> int:
    """Forward-pass equivalents of training on `train_size` examples for `epochs` epochs."""
    return TRAIN_PASS_FACTOR * train_size * epochs


def estimate_grid(
    intermediate_sizes: dict[str, tuple[int, int]],
    target_size: tuple[int, int],
    restarts: int,
    seconds_per_sequence: float,
) -> GridEstimate:
    """Estimated cost of training each candidate and its `restarts` target cells.

    Args:
        intermediate_sizes: candidate -> (training examples, epoch limit).
        target_size: the target's (training examples, epoch limit).
        restarts: target cells per candidate.
        seconds_per_sequence: measured seconds per encoder sequence (forward, no gradient).
    """
    inter = sum(training_sequences(n, e) for n, e in intermediate_sizes.values())
    target = restarts * len(intermediate_sizes) * training_sequences(*target_size)
    return GridEstimate(inter, target, (inter + target) * seconds_per_sequence)
