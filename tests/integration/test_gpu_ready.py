"""The GPU path run on CPU: the full-path benchmark's code path and figures, bf16 / fp16 mixed precision
through stilts' own trainer, and the precision check on toy cells."""

from __future__ import annotations

import math

import pytest

from benchmarks.gpu_path import PathSetting, measure
from benchmarks.precision_check import check, parse, table
from benchmarks.throughput import markdown
from tests.helpers import run_tiny_cell

pytestmark = pytest.mark.usefixtures("one_thread")


# ----- the full-path benchmark -----------------------------------------------------------------
def test_full_path_benchmark_reports_every_field_on_cpu(tmp_path) -> None:
    setting = PathSetting("tiny", batch_size=8, warmup=1, steps=2, accelerator="cpu", precision="32-true")
    result = measure(setting, tmp_path, peak_flops=1e12)
    assert result["device"] == "cpu" and result["bf16_peak_tflops"] == 1.0
    for runner in ("stilts", "raw"):
        m = result[runner]
        assert 0 < m["real_tokens"] <= m["computed_tokens"] and 0 < m["padding_efficiency"] <= 1
        for key in ("seconds", "tokens_per_s", "computed_tokens_per_s", "model_tflops", "mfu"):
            assert math.isfinite(m[key]) and m[key] > 0, (runner, key)
        assert m["mfu"] == pytest.approx(m["model_tflops"])  # against a 1 TFLOP/s peak
        assert "peak_memory_gib" in m  # GPU memory: None on CPU
    # The raw loop trains on exactly stilts' batches.
    assert result["stilts"]["real_tokens"] == result["raw"]["real_tokens"]
    assert result["stilts"]["computed_tokens"] == result["raw"]["computed_tokens"]
    ratio = result["stilts"]["tokens_per_s"] / result["raw"]["tokens_per_s"]
    assert result["stilts_over_raw"] == pytest.approx(ratio)
    table = markdown([result])
    assert "| tiny | 8 | stilts |" in table and "| tiny | 8 | raw |" in table


# ----- bookkeeping and precision ---------------------------------------------------------------


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_mixed_precision_trains_with_clipping_and_fused_adamw(tmp_path, precision: str) -> None:
    """Lightning refuses gradient clipping with a fused optimizer under any mixed precision; stilts
    clips itself (fp16 gradients unscaled first). On CPU autocast takes the same path as on a GPU."""
    result = run_tiny_cell(tmp_path, [f"trainer.precision={precision}", "+trainer.max_steps=2"])
    assert result["steps"] == 2 and math.isfinite(result["main"])


def test_precision_check_compares_both_precisions(tmp_path) -> None:
    args = parse(
        ["--model", "tiny", "--optim", "adamw", "--tasks", "demo_tense", "--seeds", "2", "--examples", "64",
         "--dev-examples", "8", "--loss-steps", "2", "--tolerance", "1", "--floor", "0", "--out", "unused"]
    )  # fmt: skip
    out = check(args, tmp_path)
    (cell,) = out["cells"]
    assert cell["dev_examples"] == 8 and len(cell["fp32"]) == len(cell["bf16"]) == 2
    paired = zip(cell["bf16"], cell["fp32"], strict=True)
    assert cell["bf16_minus_fp32"] == pytest.approx([b - f for b, f in paired])
    assert cell["loss_steps"] == 2 and out["passed"]  # 64 examples, batch 32: two steps
    assert "demo_tense" in table(out)
