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
import io
import pstats
import tempfile
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
            profiler = cProfile.Profile()
            result = profiler.runcall(RUNNERS[ns.runner], setting)
    steps = result["steps"]
    per_step = 1000 * result["epoch_s"] / steps
    print(f"{ns.runner}: {steps} steps, epoch {result['epoch_s']:.3f} s, {per_step:.2f} ms/step")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(ns.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
