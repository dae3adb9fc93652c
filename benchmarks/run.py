"""`python -m benchmarks.run`: stilts against HF Trainer and a raw PyTorch loop, plus the data path.

Every runner trains the tiny model (random init, same weights for all) for one epoch on the same
synthetic, length-varied RTE data with the same batch size and thread count, each run in a fresh
process, interleaved round by round (a, b, c, d, then d, c, b, a, ...) so drifts in machine load hit
every runner alike; ratios are medians over rounds of the per-round ratio. This runs once per length
distribution (`--lengths`; the first gives the headline figures). Then: the Arrow cache's second
preparation against the first, peak memory at two data sizes, and on a GPU bf16/SDPA/MFU.
Medians and ratios go to `benchmarks/results.json` (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import datapath
from benchmarks.gpu import gpu_benchmarks
from benchmarks.runners import Setting
from benchmarks.synthetic import Lengths, write_rte

log = logging.getLogger("benchmarks")
RUNNERS = ("stilts", "hf_trainer", "hf_trainer_grouped", "raw_grouped", "raw_random")
# The headline data: log-normal lengths with the median and spread measured on the real CB training
# excerpt (premise/hypothesis pairs, as RTE: median 82 tokens, log-sd 0.35), cut at the paper's max
# length 256. Then the milder uniform 8-128 spread, where random batches waste less.
LENGTHS = ("lognormal:82:0.35:256", "uniform:8:128")
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
    """`rounds` rounds of every runner, each run in a fresh process. Odd rounds run the runners in
    reverse order, so a drift within a round (the machine warming up or getting busier) favours no
    runner."""
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in runners}
    for round_ in range(rounds):
        for runner in runners if round_ % 2 == 0 else runners[::-1]:
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


def summarise(
    runs: dict[str, list[dict[str, Any]]],
) -> tuple[dict[str, Any], dict[str, float | None], dict[str, list[float]]]:
    """Per-runner medians; stilts' throughput over each other runner's (median of per-round ratios); and
    the lowest and highest per-round ratio, to show how much the machine's noise moves them."""
    keys = ("examples_per_s", "tokens_per_s", "padding_efficiency", "peak_rss_mb", "epoch_s")
    medians: dict[str, Any] = {}
    for runner, results in runs.items():
        ok = [r for r in results if "error" not in r]
        medians[runner] = {k: statistics.median(r[k] for r in ok) for k in keys} if ok else None
        if medians[runner] is not None:
            medians[runner]["runs"] = len(ok)
    ratios: dict[str, float | None] = {}
    spread: dict[str, list[float]] = {}
    for other, key in RATIO_KEYS.items():
        pairs = [
            a["examples_per_s"] / b["examples_per_s"]
            for a, b in zip(runs.get("stilts", []), runs.get(other, []), strict=False)
            if "error" not in a and "error" not in b
        ]
        ratios[key] = statistics.median(pairs) if pairs else None
        if pairs:
            spread[key] = [min(pairs), max(pairs)]
    return medians, ratios, spread


def markdown(setting: dict[str, Any], unavailable: dict[str, str]) -> str:
    """The throughput table of one data setting (an entry of `by_lengths`) for BENCHMARKS.md."""
    lines = [
        "| runner | examples/s | real tokens/s | padding efficiency | peak RSS (MiB) | stilts / runner |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for runner, m in setting["throughput"].items():
        ratio = setting.get(RATIO_KEYS.get(runner, ""))
        if m is None:
            why = unavailable.get(runner, "failed")
            lines.append(f"| {runner} | n/a ({why}) | | | | |")
            continue
        lines.append(
            f"| {runner} | {m['examples_per_s']:.1f} | {m['tokens_per_s']:.0f} "
            f"| {m['padding_efficiency']:.3f} | {m['peak_rss_mb']:.0f} "
            f"| {'' if ratio is None else f'{ratio:.2f}x'} |"
        )
    return "\n".join(lines)


def _lengths_argument(spec: str) -> Lengths:
    try:
        return Lengths.parse(spec)
    except ValueError as err:  # argparse shows an ArgumentTypeError's own message
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round (smoke test)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds on the headline data")
    parser.add_argument(
        "--other-rounds", type=int, default=3, help="interleaved rounds on each further length distribution"
    )
    parser.add_argument("--train-size", type=int, default=4000, help="training examples per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every runner")
    parser.add_argument(
        "--lengths",
        nargs="+",
        type=_lengths_argument,
        default=[Lengths.parse(x) for x in LENGTHS],
        help="length distributions of the data, each run as its own set of interleaved rounds; the "
        "first gives the headline figures (`lognormal:MEDIAN:SIGMA:MAX` or `uniform:MIN:MAX`)",
    )
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=(10_000, 100_000))
    parser.add_argument("--runners", nargs="+", default=list(RUNNERS), choices=RUNNERS)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and caches here")
    if "--quick" in (argv if argv is not None else sys.argv[1:]):
        # Smaller defaults; sizes given on the command line still win.
        parser.set_defaults(rounds=1, other_rounds=1, train_size=256, memory_sizes=(500, 2000))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    started, load_start = time.monotonic(), os.getloadavg()
    headline = args.lengths[0]
    with tempfile.TemporaryDirectory(prefix="stilts-bench-") as tmp:
        root = args.workdir or Path(tmp)
        from transformers import AutoTokenizer

        from stilts.config import asset_path

        tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))

        def setting_for(name: str, size: int, lengths: Lengths) -> Setting:
            write_rte(root / name / "rte", tokenizer, size, lengths)
            return Setting(
                data_dir=str(root / name), cache_dir=str(root / f"cache_{name}"), work_dir=str(root / "work"),
                batch_size=args.batch_size, max_length=lengths.max_tokens, threads=args.threads,
            )  # fmt: skip

        unavailable = unavailable_runners()
        for runner, reason in unavailable.items():
            log.warning("%s: not run (%s)", runner, reason)
        runners = [r for r in args.runners if r not in unavailable]
        by_lengths: dict[str, dict[str, Any]] = {}
        for number, lengths in enumerate(args.lengths):
            train = setting_for(f"train{number}", args.train_size, lengths)
            log.info("data: %d examples, lengths %s", args.train_size, lengths)
            datapath.run_in_subprocess("prep", train)  # featurize once, outside the timed rounds
            rounds = args.rounds if number == 0 else args.other_rounds
            runs = interleaved(train, runners, rounds)
            medians, ratios, spread = summarise(runs)
            for runner in args.runners:
                medians.setdefault(runner, None)
            by_lengths[str(lengths)] = {
                **ratios, "rounds": rounds, "ratio_range": spread, "throughput": medians, "runs": runs
            }  # fmt: skip
        small, large = args.memory_sizes
        sizes = {n: setting_for(f"mem{n}", n, headline) for n in (small, large)}
        prep = datapath.preparation(sizes[small], repeats=1 if args.quick else 3)
        memory = datapath.memory(sizes)
    first = by_lengths[str(headline)]
    results = {
        **{key: first[key] for key in RATIO_KEYS.values()},
        "ratio_range": first["ratio_range"],
        "padding_efficiency": (first["throughput"].get("stilts") or {}).get("padding_efficiency"),
        "prep_second_over_first": prep["second_over_first"],
        "rss_100k_over_10k": memory["peak_large_over_small"],
        "lengths": str(headline),
        "throughput": first["throughput"],
        "by_lengths": by_lengths,
        "unavailable": unavailable,
        "preparation": prep,
        "memory": memory,
        "gpu": gpu_benchmarks(quick=args.quick),
        "setting": {
            "model": "tiny",
            **{key: getattr(train, key) for key in ("seed", "lr", "dropout")},
            "batch_size": args.batch_size,
            "threads": args.threads,
            "rounds": args.rounds,
            "other_rounds": args.other_rounds,
            "train_size": args.train_size,
            "lengths": [str(x) for x in args.lengths],
        },
        "machine": {**machine(), "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "command": "python -m benchmarks.run" + (" --quick" if args.quick else ""),
        "wall_s": time.monotonic() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for lengths, setting in by_lengths.items():
        log.info(
            "throughput on lengths %s (medians of %d interleaved rounds):\n%s",
            lengths, setting["rounds"], markdown(setting, unavailable),
        )  # fmt: skip
    log.info(
        "second preparation / first: %.3f; peak RSS %d / %d examples: %.3f; wrote %s in %.0f s",
        prep["second_over_first"], large, small, memory["peak_large_over_small"], args.out,
        results["wall_s"],
    )  # fmt: skip
    return results


if __name__ == "__main__":
    main()
