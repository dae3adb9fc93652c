"""Dense bf16 tensor-core peaks of the GPUs the benchmarks know, for model FLOPs utilisation (MFU).

Source: NVIDIA's data sheets (H100 and H200 Tensor Core GPU data sheets, A100 data sheet, L40S data
sheet). They print bf16 tensor-core throughput "with sparsity" (2:4 structured sparsity); dense training
gets half of it, which is the figure below: H100 SXM 1,979 -> 989 TFLOP/s, H100 PCIe 1,513 -> 756, H100
NVL 1,671 -> 835, H200 SXM 1,979 -> 989, H200 NVL 1,671 -> 835, A100 (SXM and PCIe) 624 -> 312, L40S
733 -> 362. Matched on `torch.cuda.get_device_name()`, most specific name first (an "NVIDIA H100 PCIe"
must not match the SXM entry "H100").
"""

from __future__ import annotations

BF16_DENSE_PEAK_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM5 (device name e.g. "NVIDIA H100 80GB HBM3")
    ("H200 NVL", 835.0),
    ("H200", 989.0),  # SXM (device name "NVIDIA H200")
    ("A100", 312.0),  # SXM4 and PCIe alike
    ("L40S", 362.0),
)


def bf16_peak_flops(device_name: str) -> float | None:
    """The dense bf16 peak of `device_name` in FLOP/s, or None for a device not in the table."""
    return next((tflops * 1e12 for key, tflops in BF16_DENSE_PEAK_TFLOPS if key in device_name), None)
