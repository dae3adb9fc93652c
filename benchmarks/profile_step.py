"""`python -m benchmarks.profile_step`: where stilts' training step spends time beyond the raw loop's.

Writes synthetic RTE data of the headline length distribution (benchmarks.run), then runs one epoch
of a runner of benchmarks.runners (`stilts`, `raw_grouped`) under cProfile in this process and prints
its epoch time per step and the functions with the most own time. Comparing the two runners' lists
shows the per-step cost of the framework (hooks, logging, data path) against the model's compute,
which both share. `--trivial` swaps the encoder for a one-layer, 8-wide copy, so the framework's
share dominates the step and shows clearly.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

from benchmarks.run import LENGTHS
from benchmarks.runners import RUNNERS, Setting
from benchmarks.synthetic import Lengths, write_rte


def trivial_encoder(original):  # type: ignore[no-untyped-def]
    """`build_encoder` returning a one-layer, 8-wide (2 heads) copy of the configured architecture."""

    def build(model_cfg, dropout, weights=None):  # type: ignore[no-untyped-def]
        from transformers import AutoConfig, AutoModel

        encoder = original(model_cfg, dropout, weights)
        small = {"num_hidden_layers": 1, "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16}
        config = AutoConfig.for_model(**{**encoder.config.to_dict(), **small})
        return AutoModel.from_config(config).train()

    return build


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runner", choices=("stilts", "raw_grouped"), default="stilts")
    p.add_argument("--train-size", type=int, default=1000)
    p.add_argument("--lengths", default=LENGTHS[0])
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--trivial", action="store_true", help="a trivial encoder: only the framework's cost")
    p.add_argument("--dump", help="also write the profile here (pstats format, for callers and callees)")
    ns = p.parse_args()
    from transformers import AutoTokenizer

    from stilts.config import asset_path

    lengths = Lengths.parse(ns.lengths)
    with tempfile.TemporaryDirectory(prefix="stilts-profile-") as tmp:
        root = Path(tmp)
        tokenizer = AutoTokenizer.from_pretrained(asset_path("tiny_roberta"))
        write_rte(root / "data" / "rte", tokenizer, ns.train_size, lengths)
        folders = {k: str(root / k) for k in ("data", "cache", "work")}
        setting = Setting(
            data_dir=folders["data"],
            cache_dir=folders["cache"],
            work_dir=folders["work"],
            max_length=lengths.max_tokens,
            threads=1,
        )
        RUNNERS["raw_grouped"](setting)  # featurize and warm up outside the profile
        from benchmarks import runners

        trivial = trivial_encoder(runners.build_encoder)
        with mock.patch.object(runners, "build_encoder", trivial) if ns.trivial else nullcontext():
            # CPU time, robust to a busy machine; during the timed epoch only.
            runners.EPOCH_PROFILER = profiler = cProfile.Profile(time.process_time)
            result = RUNNERS[ns.runner](setting)
    steps = result["steps"]
    per_step = 1000 * result["epoch_s"] / steps
    print(f"{ns.runner}: {steps} steps, epoch {result['epoch_s']:.3f} s wall, {per_step:.2f} ms/step")
    print(per_step_table(pstats.Stats(profiler), steps, ns.top))
    if ns.dump:
        profiler.dump_stats(ns.dump)


def per_step_table(stats: pstats.Stats, steps: int, top: int) -> str:
    """The epoch's functions called at least once a step, by own CPU time per step, with their
    cumulative time per step."""
    rows = [
        (own / steps, cumulative / steps, calls / steps, f"{Path(file).name}:{line}({name})")
        for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items()  # type: ignore[attr-defined]
        if calls >= steps
    ]
    rows.sort(reverse=True)
    lines = ["own ms/step  cum ms/step  calls/step  function"]
    lines += [
        f"{1e3 * own:11.3f}  {1e3 * cum:11.3f}  {calls:10.1f}  {fn}" for own, cum, calls, fn in rows[:top]
    ]
    lines.append(f"sum of own time of these per-step functions: {1e3 * sum(r[0] for r in rows):.2f} ms/step")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
