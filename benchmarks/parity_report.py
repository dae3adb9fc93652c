"""Summary statistics and the markdown report of the parity benchmark (benchmarks.parity)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from scipy import stats

from stilts.errors import ConfigError

SIDES = ("stilts", "trainer")
BEGIN, END = "<!-- parity:begin (written by python -m benchmarks.parity) -->", "<!-- parity:end -->"


def welch_interval(a: list[float], b: list[float], level: float = 0.95) -> tuple[float, float, float] | None:
    """mean(a) - mean(b) with its Welch t confidence interval; None with fewer than 2 runs a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    diff = statistics.fmean(a) - statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return diff, diff - half, diff + half


def difference(a: list[float], b: list[float]) -> dict[str, float] | None:
    """mean(a) - mean(b) and its 95% Welch interval as {mean, low, high}; None with too few runs."""
    interval = welch_interval(a, b)
    return None if interval is None else dict(zip(("mean", "low", "high"), interval, strict=True))


def difference_text(d: dict[str, float] | None) -> str:
    """`difference` in percentage points: "-1.0 [-2.8, 0.8]"."""
    return "n/a" if d is None else f"{pct(d['mean'])} [{pct(d['low'])}, {pct(d['high'])}]"


def summarise(records: list[dict[str, Any]], majority: dict[str, float]) -> dict[str, Any]:
    """Per task and side: scores, their mean and sd, training time and examples/s, wall time; per
    task: stilts minus Trainer with its 95% Welch interval, and stilts' throughput over the Trainer's."""
    out: dict[str, Any] = {}
    for task in dict.fromkeys(r["task"] for r in records):
        row: dict[str, Any] = {"majority": majority.get(task)}
        for side in SIDES:
            runs = sorted(
                (r for r in records if r["task"] == task and r["side"] == side), key=lambda r: r["seed"]
            )
            scores = [r["score"] for r in runs]
            trained = sum(r["train_examples"] * r["epochs"] for r in runs)
            train_s = sum(r["train_s"] for r in runs)
            # CPU seconds of the same spans: a machine shared with other work slows the wall clock, not these.
            cpu_s = sum(r.get("train_cpu_s", 0.0) for r in runs)
            row[side] = {
                "seeds": [r["seed"] for r in runs],
                "scores": scores,
                "mean": statistics.fmean(scores) if scores else None,
                "sd": statistics.stdev(scores) if len(scores) > 1 else None,
                "train_examples_per_s": trained / train_s if train_s else None,
                "train_s": train_s,
                "train_examples_per_cpu_s": trained / cpu_s if cpu_s else None,
                "wall_s": sum(r["wall_s"] for r in runs),
                "epoch_scores": [r["epoch_scores"] for r in runs],
            }
        row["difference"] = difference(row["stilts"]["scores"], row["trainer"]["scores"])
        rates = row["stilts"]["train_examples_per_s"], row["trainer"]["train_examples_per_s"]
        row["throughput_ratio"] = rates[0] / rates[1] if all(rates) else None
        out[task] = row
    return out


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def _rates(ours: dict[str, Any], theirs: dict[str, Any], key: str) -> str:
    if not ours[key] or not theirs[key]:
        return "n/a"
    return f"{ours[key]:.1f} / {theirs[key]:.1f} ({ours[key] / theirs[key]:.2f}x)"


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    """The results table and the run's settings, for docs/parity.md."""
    lines = [
        "| task (metric) | majority | stilts mean (sd) | Trainer mean (sd) | stilts - Trainer [95% CI] "
        "| interval holds 0 | train ex/s stilts / Trainer (ratio) | per CPU s | wall s stilts / Trainer |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for task, row in summary.items():
        s, t, d = row["stilts"], row["trainer"], row["difference"]
        diff = difference_text(d)
        holds = "n/a" if d is None else ("yes" if d["low"] <= 0 <= d["high"] else "**no**")
        rate = "n/a"
        if row["throughput_ratio"]:
            rates = f"{s['train_examples_per_s']:.1f} / {t['train_examples_per_s']:.1f}"
            rate = f"{rates} ({row['throughput_ratio']:.2f}x)"
        means = f"{pct(s['mean'])} ({pct(s['sd'])}) | {pct(t['mean'])} ({pct(t['sd'])})"
        lines.append(
            f"| {task} ({meta['metrics'][task]}) | {pct(row['majority'])} | {means} | {diff} | {holds} "
            f"| {rate} | {_rates(s, t, 'train_examples_per_cpu_s')} | {s['wall_s']:.0f} / {t['wall_s']:.0f} |"
        )
    lines += ["", "Scores per seed and after each epoch (dev, %):", ""]
    for task, row in summary.items():
        for side in SIDES:
            side_row = row[side]
            curves = "; ".join(
                f"seed {seed}: " + " / ".join(pct(x) for x in curve)
                for seed, curve in zip(side_row["seeds"], side_row["epoch_scores"], strict=True)
            )
            lines.append(f"- {task}, {side}: {curves}")
    return "\n".join(lines) + "\n"


def write_doc(path: Path, table: str) -> None:
    text = (
        path.read_text() if path.exists() else f"# Score parity with Hugging Face Trainer\n\n{BEGIN}\n{END}\n"
    )
    if BEGIN not in text or END not in text:
        raise ConfigError(f"{path}: the markers {BEGIN} and {END} are missing; put them where the table goes")
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}")
