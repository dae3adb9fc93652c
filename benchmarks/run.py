"""`python -m benchmarks.run`: stilts against HF Trainer and a raw PyTorch loop, plus the data path.

Every runner trains the tiny model (random init, same weights for all) for one epoch on the same
synthetic, length-varied RTE data with the same batch size and thread count, each run in a fresh
process, interleaved round by round (a, b, c, d, a, b, c, d, ...) so drifts in machine load hit
every runner alike; ratios are medians over rounds of the per-round ratio. Then: the Arrow cache's
second preparation against the first, peak memory at two data sizes, and on a GPU bf16/SDPA/MFU.
Medians and ratios go to `benchmarks/results.json` (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import datapath
from benchmarks.gpu import gpu_benchmarks
from benchmarks.runners import Setting
from benchmarks.synthetic import write_rte

log = logging.getLogger("benchmarks")
RUNNERS = ("stilts", "hf_trainer", "hf_trainer_grouped", "raw_grouped", "raw_random")
RATIO_KEYS = {
    "hf_trainer": "stilts_vs_trainer",
    "hf_trainer_grouped": "stilts_vs_trainer_grouped",
    "raw_grouped": "stilts_vs_raw_grouped",
    "raw_random": "stilts_vs_raw_random",
}


def machine() -> dict[str, Any]:
    import torch
    import transformers

    cpu = next(
        (
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in x
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in x
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 2**20, 1),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def unavailable_runners() -> dict[str, str]:
    """Runners that cannot run here, with the reason (checked once, not once per round)."""
    import importlib.util

    if importlib.util.find_spec("accelerate") is None:
        reason = "transformers.Trainer needs the `accelerate` package, which is not installed"
        return {"hf_trainer": reason, "hf_trainer_grouped": reason}
    return {}


def interleaved(setting: Setting, runners: list[str], rounds: int) -> dict[str, list[dict[str, Any]]]:
    """`rounds` rounds of every runner, each run in a fresh process."""
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in runners}
    for round_ in range(rounds):
        for runner in runners:
            try:
                result = datapath.run_in_subprocess(runner, setting)
            except RuntimeError as err:
                log.error("round %d, %s: %s", round_, runner, err)
                result = {"runner": runner, "error": str(err)}
            runs[runner].append(result)
            if "error" not in result:
                log.info(
                    "round %d %-19s %7.1f examples/s  %8.0f tokens/s  padding %.3f  peak RSS %.0f MiB",
                    round_, runner, result["examples_per_s"], result["tokens_per_s"],
                    result["padding_efficiency"], result["peak_rss_mb"],
                )  # fmt: skip
    return runs


def summarise(runs: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Per-runner medians, and stilts' throughput over each other runner's (median of per-round ratios)."""
    keys = ("examples_per_s", "tokens_per_s", "padding_efficiency", "peak_rss_mb", "epoch_s")
    medians: dict[str, Any] = {}
    for runner, results in runs.items():
        ok = [r for r in results if "error" not in r]
        medians[runner] = {k: statistics.median(r[k] for r in ok) for k in keys} if ok else None
        if medians[runner] is not None:
            medians[runner]["runs"] = len(ok)
    ratios: dict[str, float | None] = {}
    for other, key in RATIO_KEYS.items():
        pairs = [
            a["examples_per_s"] / b["examples_per_s"]
            for a, b in zip(runs.get("stilts", []), runs.get(other, []), strict=False)
            if "error" not in a and "error" not in b
        ]
        ratios[key] = statistics.median(pairs) if pairs else None
    return medians, ratios


def markdown(results: dict[str, Any]) -> str:
    """The throughput table for BENCHMARKS.md."""
    lines = [
        "| runner | examples/s | real tokens/s | padding efficiency | peak RSS (MiB) | stilts / runner |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for runner, m in results["throughput"].items():
        ratio = results.get(RATIO_KEYS.get(runner, ""))
        if m is None:
            why = results["unavailable"].get(runner, "failed")
            lines.append(f"| {runner} | n/a ({why}) | | | | |")
            continue
        lines.append(
            f"| {runner} | {m['examples_per_s']:.1f} | {m['tokens_per_s']:.0f} "
            f"| {m['padding_efficiency']:.3f} | {m['peak_rss_mb']:.0f} "
            f"| {'' if ratio is None else f'{ratio:.2f}x'} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round (smoke test)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of every runner")
    parser.add_argument("--train-size", type=int, default=4000, help="training examples per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every runner")
    parser.add_argument("--min-tokens", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=(10_000, 100_000))
    parser.add_argument("--runners", nargs="+", default=list(RUNNERS), choices=RUNNERS)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and caches here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.train_size, args.memory_sizes = 1, 256, (500, 2000)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    started, load_start = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="stilts-bench-") as tmp:
        root = args.workdir or Path(tmp)
        from transformers import AutoTokenizer

        from stilts.config import asset_path

        tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))

        def setting_for(name: str, size: int) -> Setting:
            write_rte(root / name / "rte", tokenizer, size, 64, args.min_tokens, args.max_tokens)
            return Setting(
                data_dir=str(root / name), cache_dir=str(root / f"cache_{name}"), work_dir=str(root / "work"),
                batch_size=args.batch_size, threads=args.threads,
            )  # fmt: skip

        train = setting_for("train", args.train_size)
        unavailable = unavailable_runners()
        for runner, reason in unavailable.items():
            log.warning("%s: not run (%s)", runner, reason)
        runners = [r for r in args.runners if r not in unavailable]
        datapath.run_in_subprocess("prep", train)  # featurize once, outside the timed rounds
        runs = interleaved(train, runners, args.rounds)
        medians, ratios = summarise(runs)
        for runner in args.runners:
            medians.setdefault(runner, None)
        small, large = args.memory_sizes
        sizes = {small: setting_for(f"mem{small}", small), large: setting_for(f"mem{large}", large)}
        prep = datapath.preparation(sizes[small], repeats=1 if args.quick else 3)
        memory = datapath.memory(sizes)
    stilts = medians.get("stilts") or {}
    results = {
        **ratios,
        "padding_efficiency": stilts.get("padding_efficiency"),
        "prep_second_over_first": prep["second_over_first"],
        "rss_100k_over_10k": memory["peak_large_over_small"],
        "throughput": medians,
        "unavailable": unavailable,
        "preparation": prep,
        "memory": memory,
        "gpu": gpu_benchmarks(quick=args.quick),
        "setting": {
            **dataclasses.asdict(train),
            "rounds": args.rounds,
            "train_size": args.train_size,
            "tokens": [args.min_tokens, args.max_tokens],
            "model": "tiny",
        },  # fmt: skip
        "runs": runs,
        "machine": {**machine(), "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "command": "python -m benchmarks.run" + (" --quick" if args.quick else ""),
        "wall_s": time.monotonic() - started,
    }
    for key in ("data_dir", "cache_dir", "work_dir"):
        results["setting"].pop(key)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log.info("throughput (medians of %d interleaved rounds):\n%s", args.rounds, markdown(results))
    log.info(
        "second preparation / first: %.3f; peak RSS %d / %d examples: %.3f; wrote %s in %.0f s",
        prep["second_over_first"], large, small, memory["peak_large_over_small"], args.out,
        results["wall_s"],
    )  # fmt: skip
    return results


if __name__ == "__main__":
    main()
