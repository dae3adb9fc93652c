"""The GPU check's arithmetic and bookkeeping, without training: model FLOPs and matmul parameters by
hand, the device peak table, the results file, the precision check's figures."""

from __future__ import annotations

import json
import math

import pytest
import torch

from benchmarks import gpu_results
from benchmarks.peaks import bf16_peak_flops
from benchmarks.precision_check import summarise
from benchmarks.throughput import Tally, figures, matmul_parameters
from stilts.models.encoder import build_encoder
from stilts.models.heads import ClassificationHead
from tests.helpers import compose_cfg

pytestmark = pytest.mark.usefixtures("one_thread")


# ----- the full-path benchmark -----------------------------------------------------------------


def test_model_flops_by_hand() -> None:
    tally = Tally(torch.device("cpu"))
    tally.add(torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]))  # sequences of 3 and 2 real tokens
    tally.seconds = 2.0
    # 100 matmul weights, 2 layers of width 4: 6 * 100 * 5 + 12 * 2 * 4 * (3^2 + 2^2) = 3000 + 1248.
    out = figures(tally, params=100, layers=2, hidden=4, peak=4248 / 2)
    assert out["model_tflops"] == pytest.approx(4248 / 2 / 1e12) and out["mfu"] == pytest.approx(1.0)
    assert out["padding_efficiency"] == pytest.approx(5 / 8) and out["tokens_per_s"] == pytest.approx(2.5)


def test_matmul_parameters_leave_out_embedding_tables() -> None:
    encoder = build_encoder(compose_cfg(["model=tiny"]).model, dropout=0.1)
    module = torch.nn.ModuleDict(
        {"encoder": encoder, "head": ClassificationHead(64, ["a", "b"], dropout=0.1)}
    )
    # 2 layers x (Q, K, V, output: 4 x 64 x 64; FFN in and out: 2 x 64 x 128) + head 64 x 2.
    assert matmul_parameters(module) == 2 * (4 * 64 * 64 + 2 * 64 * 128) + 64 * 2


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA H200 NVL", 835.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA A100 80GB PCIe", 312.0),
        ("Tesla T4", None),
    ],
)
def test_bf16_peak_by_device_name(name: str, tflops: float | None) -> None:
    assert bf16_peak_flops(name) == (None if tflops is None else tflops * 1e12)


# ----- bookkeeping and precision ---------------------------------------------------------------
def test_each_step_is_recorded_when_it_ends(tmp_path) -> None:
    results, log, result = tmp_path / "gpu_results.json", tmp_path / "a.log", tmp_path / "a.json"
    log.write_text("\n".join(f"line {i}" for i in range(30)))
    result.write_text(json.dumps({"tokens_per_s": 1.5}))
    gpu_results.record(results, "full_path", 0, 12.34, log, result)
    gpu_results.record(results, "sweep_gpu", 124, 75.0, log, None)
    saved = json.loads(results.read_text())
    assert saved["machine"]["torch"] == torch.__version__ and saved["machine"]["date_utc"]
    first, second = saved["steps"]["full_path"], saved["steps"]["sweep_gpu"]
    assert first["status"] == "ok" and first["result"] == {"tokens_per_s": 1.5} and first["wall_s"] == 12.3
    assert first["log_tail"][-1] == "line 29" and len(first["log_tail"]) == 15
    assert second["status"] == "timed out" and "result" not in second


def test_precision_check_figures_by_hand() -> None:
    def runs(scores: list[float], losses: list[list[float]]) -> dict[int, dict]:
        return {s: {"main": scores[s], "val_examples": 100, "losses": losses[s]} for s in range(2)}

    cell = summarise(
        "t",
        {
            "32-true": runs([0.8, 0.9], [[0.7, 0.6], [0.7, 0.5]]),
            "bf16-mixed": runs([0.85, 0.9], [[0.71, 0.6], [0.7, 0.45]]),
        },
    )
    assert cell["bf16_minus_fp32"] == pytest.approx([0.05, 0.0])
    assert cell["mean_abs_diff"] == pytest.approx(0.025)
    assert cell["fp32_seed_std"] == pytest.approx(0.0707107, abs=1e-6)  # sqrt(2 x 0.05^2 / 1)
    assert cell["fp32_seed_range"] == pytest.approx(0.1)
    assert cell["binomial_std"] == pytest.approx(math.sqrt(0.85 * 0.15 / 100))
    assert cell["loss_max_abs_diff"] == pytest.approx([0.01, 0.05])
    assert cell["loss_step0_abs_diff"] == pytest.approx([0.01, 0.0])
