"""Accounting of the GPU throughput benchmarks: tokens and attention work of the timed batches, the
timed window, model FLOPs and MFU, and the table for BENCHMARKS.md."""

from __future__ import annotations

import time
from typing import Any

import torch


class Tally:
    """Real and computed tokens and attention work of the timed batches, kept on the device (adding a
    tensor launches no sync), and the timed window's wall clock."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.real = self.squares = torch.zeros((), dtype=torch.long, device=device)
        self.computed = 0
        self.started = self.seconds = 0.0

    def add(self, mask: torch.Tensor) -> None:
        lengths = mask.sum(dim=1)
        self.real = self.real + lengths.sum()
        self.squares = self.squares + (lengths * lengths).sum()
        self.computed += mask.numel()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def start(self) -> None:
        self._sync()
        self.started = time.perf_counter()

    def stop(self) -> None:
        self._sync()
        self.seconds = time.perf_counter() - self.started


def matmul_parameters(module: torch.nn.Module) -> int:
    """Weights of the matrix multiplications a token goes through: every 2-D parameter except
    embedding tables (word, position, token type, relative position), which are lookups."""
    return sum(p.numel() for n, p in module.named_parameters() if p.dim() == 2 and "embeddings" not in n)


def figures(tally: Tally, params: int, layers: int, hidden: int, peak: float | None) -> dict[str, Any]:
    """Throughput, model FLOPs (6 x matmul weights per real token, plus 12 x layers x hidden x n^2 per
    sequence of n real tokens for attention scores and their weighted sum, forward and backward) and MFU."""
    real, squares = int(tally.real), int(tally.squares)
    flops = 6 * params * real + 12 * layers * hidden * squares
    seconds = tally.seconds
    return {
        "seconds": seconds,
        "real_tokens": real,
        "computed_tokens": tally.computed,
        "tokens_per_s": real / seconds,
        "computed_tokens_per_s": tally.computed / seconds,
        "padding_efficiency": real / tally.computed,
        "model_tflops": flops / seconds / 1e12,
        "mfu": flops / seconds / peak if peak else None,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    """The table for BENCHMARKS.md."""
    lines = [
        "| model | batch | runner | real tokens/s | model TFLOP/s | MFU | peak memory (GiB) | stilts / raw |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['setting']['model']} | {r['setting']['batch_size']} | failed: {r['error']} |")
            continue
        for runner in ("stilts", "raw"):
            m = r[runner]
            mfu = "n/a" if m["mfu"] is None else f"{m['mfu']:.1%}"
            mem = "n/a" if m["peak_memory_gib"] is None else f"{m['peak_memory_gib']:.1f}"
            ratio = f"{r['stilts_over_raw']:.3f}x" if runner == "stilts" else ""
            lines.append(
                f"| {r['setting']['model']} | {r['setting']['batch_size']} | {runner} "
                f"| {m['tokens_per_s']:,.0f} | {m['model_tflops']:.1f} | {mfu} | {mem} | {ratio} |"
            )
    return "\n".join(lines)
