"""GPU figures (only where `torch.cuda.is_available()`): training-step throughput of stilts' encoder +
classification head for roberta_base and roberta_large at length 256, in fp32 and bf16 autocast, with
SDPA and eager attention, and the model FLOPs utilisation (MFU) of each against the card's bf16 peak.

Weights are randomly initialised from the architecture config stilts ships (stilts/assets/<model>), so
no Hub is needed; speed does not depend on the weights' values. `python -m benchmarks.gpu --out FILE`
writes the table as JSON (benchmarks/gpu_check.sh runs it); `benchmarks/gpu_path.py` measures stilts'
whole training path instead of the bare encoder.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.peaks import bf16_peak_flops
from stilts.config import asset_path

log = logging.getLogger(__name__)
MODELS = ("roberta_base", "roberta_large")  # architectures shipped under stilts/assets


def train_flops_per_token(config: Any, length: int) -> float:
    """6 x (non-embedding parameters) for the matmuls forward and backward, plus attention scores and
    their weighted sum (2 matmuls of T x T x H per layer, x3 for forward + backward)."""
    h, layers, ffn = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    params = layers * (4 * h * h + 2 * h * ffn)
    return 6 * params + 12 * layers * length * h


def step_throughput(
    model: str, attn: str, bf16: bool, length: int, batch_size: int, steps: int
) -> dict[str, Any]:
    """Tokens/s of full training steps (forward, loss, backward, AdamW) on random full-length batches."""
    from transformers import AutoConfig, AutoModel

    from stilts.models.heads import ClassificationHead

    config = AutoConfig.from_pretrained(asset_path(model))
    encoder = AutoModel.from_config(config, attn_implementation=attn, add_pooling_layer=False)
    head = ClassificationHead(config.hidden_size, ["a", "b"], dropout=0.1)
    model = torch.nn.ModuleDict({"encoder": encoder, "head": head}).cuda().train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    batch = {
        "input_ids": torch.randint(5, config.vocab_size, (batch_size, length), device="cuda"),
        "attention_mask": torch.ones(batch_size, length, dtype=torch.long, device="cuda"),
        "label": torch.randint(0, 2, (batch_size,), device="cuda"),
    }

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            loss = head.loss(head(hidden.last_hidden_state, batch), batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):  # warm-up: kernels chosen, allocator filled
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    tokens_per_s = steps * batch_size * length / seconds
    peak = bf16_peak_flops(torch.cuda.get_device_name())
    flops = tokens_per_s * train_flops_per_token(config, length)
    return {
        "tokens_per_s": tokens_per_s,
        "examples_per_s": steps * batch_size / seconds,
        "tflops": flops / 1e12,
        "mfu_vs_bf16_peak": flops / peak if peak else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
    }


def gpu_benchmarks(quick: bool = False, length: int = 256, batch_size: int = 16) -> dict[str, Any]:
    """Every model x attention x precision on the GPU, or why nothing ran."""
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device (torch.cuda.is_available() is False)"}
    out: dict[str, Any] = {"device": torch.cuda.get_device_name(), "length": length, "batch_size": batch_size}
    models = MODELS[:1] if quick else MODELS
    for name in models:
        for attn in ("sdpa", "eager"):
            for bf16 in (True, False):
                key = f"{name}/{attn}/{'bf16' if bf16 else 'fp32'}"
                try:
                    torch.cuda.reset_peak_memory_stats()
                    out[key] = step_throughput(name, attn, bf16, length, batch_size, 3 if quick else 20)
                    torch.cuda.empty_cache()  # the finished run's weights are garbage now
                    log.info(
                        "%s: %.0f tokens/s, MFU %s",
                        key,
                        out[key]["tokens_per_s"],
                        out[key]["mfu_vs_bf16_peak"],
                    )
                except (OSError, RuntimeError) as err:  # out of memory, an unusable kernel
                    out[key] = {"skipped": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="roberta_base only, 3 timed steps")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the results")
    args = parser.parse_args(argv)
    results = gpu_benchmarks(quick=args.quick)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
