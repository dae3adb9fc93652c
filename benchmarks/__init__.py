"""Throughput and data-path benchmarks of stilts against HF Trainer and a raw PyTorch loop.

Run `python -m benchmarks.run` (see BENCHMARKS.md for the figures and the machine they came from).
"""
