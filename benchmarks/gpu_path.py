"""`python -m benchmarks.gpu_path`: training throughput of stilts' own path against a raw PyTorch loop.

stilts: `TaskDataModule` (length-grouped batches, dynamic padding, pinned memory on CUDA) +
`TransferModule` + a Lightning `Trainer` from `conf/trainer/gpu.yaml` (bf16-mixed), SDPA.
raw: a hand-written loop on the very same batches (same sampler, seed and collator) and the same initial
model: autocast to bf16, forward, loss, backward, `clip_grad_norm_`, fused AdamW, `LambdaLR`.

Data: synthetic RTE pairs whose lengths follow the CPU benchmark's headline distribution
(`lognormal:82:0.35:256`: median and spread of real premise/hypothesis pairs, max length 256). Models
are random-initialised from the architecture configs stilts ships (no Hub), tokenized with the tiny
tokenizer (only token ids within the vocabulary matter for speed). Reported per model and runner: real
(non-pad) tokens/s, computed tokens/s, model TFLOP/s and MFU against the card's dense bf16 peak
(`benchmarks/peaks.py`), peak GPU memory; and stilts/raw. The same code runs on CPU in fp32 (the test).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from benchmarks.peaks import bf16_peak_flops
from benchmarks.runners import always_added_callbacks, build_module
from benchmarks.synthetic import Lengths, write_rte
from benchmarks.throughput import Tally, figures, markdown, matmul_parameters
from stilts.config import compose_config
from stilts.models.encoder import load_tokenizer
from stilts.tasks.datamodule import TaskDataModule
from stilts.tasks.spec import TaskSpec

log = logging.getLogger(__name__)
HEADLINE_LENGTHS = "lognormal:82:0.35:256"


@dataclass(frozen=True)
class PathSetting:
    """One measurement: a model of conf/model/ (random init from its shipped architecture), the data,
    the steps (the first `warmup` are not timed) and the device and precision."""

    model: str
    batch_size: int = 32
    lengths: str = HEADLINE_LENGTHS
    warmup: int = 5
    steps: int = 30
    accelerator: str = "gpu"  # `gpu` (conf/trainer/gpu.yaml) or `cpu` (conf/trainer/cpu.yaml)
    precision: str = "bf16-mixed"  # Lightning's precision; the raw loop autocasts to the same dtype
    seed: int = 0
    optim: str | None = None  # a conf/optim/ config; None: the default of conf/train.yaml


class _TimedSteps(L.Callback):
    """Starts the clock before step `warmup`, counts the batches from there, stops after the last step."""

    def __init__(self, tally: Tally, warmup: int) -> None:
        self.tally, self.warmup = tally, warmup

    def on_train_batch_start(
        self, trainer: L.Trainer, module: L.LightningModule, batch: Any, idx: int
    ) -> None:
        if idx == self.warmup:
            self.tally.start()
        if idx >= self.warmup:
            self.tally.add(batch["attention_mask"])

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.tally.stop()


def compose_cfg(setting: PathSetting, root: Path) -> DictConfig:
    """The pipeline's config for RTE on the setting's model, random-initialised from its shipped
    architecture with the tiny tokenizer, on the setting's trainer and precision."""
    overrides = [
        f"model={setting.model}",
        "model.random_init=true",
        "model.tokenizer=tiny_roberta",
        f"model.max_length={Lengths.parse(setting.lengths).max_tokens}",
        f"trainer={setting.accelerator}",
        f"trainer.precision={setting.precision}",
        "+trainer.enable_progress_bar=false",
        "task@target=rte",
        *([f"optim={setting.optim}"] if setting.optim else []),
        f"paths.data_dir={root / 'data'}",
        f"paths.cache_dir={root / 'cache'}",
        f"paths.output_dir={root / 'out'}",
    ]
    return compose_config(overrides)


def prepare(setting: PathSetting, root: Path) -> tuple[DictConfig, TaskSpec, TaskDataModule]:
    """Config, spec (the setting's batch size) and data module with just enough training pairs for
    `warmup + steps` full batches, featurized once."""
    cfg = compose_cfg(setting, root)
    tokenizer = load_tokenizer(cfg.model)
    pairs = (setting.warmup + setting.steps) * setting.batch_size
    write_rte(root / "data" / "rte", tokenizer, pairs, Lengths.parse(setting.lengths), n_val=8)
    spec = dataclasses.replace(TaskSpec.from_config(cfg.target, "target"), batch_size=setting.batch_size)
    dm = TaskDataModule(
        spec,
        tokenizer,
        cfg.paths.data_dir,
        cfg.paths.cache_dir,
        max_length=cfg.model.max_length,
        seed=setting.seed,
    )
    dm.setup("fit")
    return cfg, spec, dm


def run_stilts(setting: PathSetting, cfg: DictConfig, spec: TaskSpec, dm: TaskDataModule) -> Tally:
    """Train `warmup + steps` steps through Lightning as the pipeline does (no validation, no checkpoints)."""
    L.seed_everything(setting.seed, workers=True)
    module = build_module(cfg, spec, setting.seed)
    tally = Tally(torch.device("cuda" if setting.accelerator == "gpu" else "cpu"))
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        max_steps=setting.warmup + setting.steps,
        limit_val_batches=0,
        gradient_clip_val=cfg.optim.grad_clip,
        callbacks=[_TimedSteps(tally, setting.warmup), *always_added_callbacks(cfg.trainer)],
        logger=False,
        enable_checkpointing=False,
        default_root_dir=cfg.paths.output_dir,
        use_distributed_sampler=False,
    )
    trainer.fit(module, datamodule=dm)
    return tally


def run_raw(setting: PathSetting, cfg: DictConfig, spec: TaskSpec, dm: TaskDataModule) -> Tally:
    """The same steps in a hand-written loop over the same batches, model and optimizer."""
    device = torch.device("cuda" if setting.accelerator == "gpu" else "cpu")
    bf16 = setting.precision.startswith("bf16")
    module = build_module(cfg, spec, setting.seed).to(device).train()
    total = setting.warmup + setting.steps
    # The optimizer and schedule exactly as stilts builds them: configure_optimizers reads nothing from
    # its trainer but the number of steps.
    module.trainer = SimpleNamespace(estimated_stepping_batches=total)  # type: ignore[assignment]
    built = module.configure_optimizers()
    module.trainer = None  # type: ignore[assignment]
    optimizer, schedule = built["optimizer"], built["lr_scheduler"]["scheduler"]
    stilts_loader = dm.train_dataloader()  # its sampler and collator: the batches stilts trains on
    loader = DataLoader(
        stilts_loader.dataset,
        batch_sampler=stilts_loader.batch_sampler,
        collate_fn=stilts_loader.collate_fn,
        pin_memory=device.type == "cuda",
    )
    tally = Tally(device)
    for step, cpu_batch in enumerate(loader):
        if step == total:
            break
        batch = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
        if step == setting.warmup:
            tally.start()
        if step >= setting.warmup:
            tally.add(batch["attention_mask"])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = module.head.loss(module(batch), batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.optim.grad_clip)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    tally.stop()
    return tally


def measure(setting: PathSetting, root: Path, peak_flops: float | None = None) -> dict[str, Any]:
    """stilts and raw on one model; `peak_flops` overrides the device table (e.g. for an unlisted GPU)."""
    cfg, spec, dm = prepare(setting, root)
    on_cuda = setting.accelerator == "gpu"
    device_name = torch.cuda.get_device_name() if on_cuda else "cpu"
    peak = peak_flops or (bf16_peak_flops(device_name) if on_cuda else None)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        probe = build_module(cfg, spec, setting.seed)
    config = probe.encoder.config
    params, layers, hidden = matmul_parameters(probe), config.num_hidden_layers, config.hidden_size
    total_params = sum(p.numel() for p in probe.parameters())
    del probe
    out: dict[str, Any] = {
        "setting": dataclasses.asdict(setting),
        "device": device_name,
        "bf16_peak_tflops": peak / 1e12 if peak else None,
        "parameters": total_params,
        "matmul_parameters": params,
    }
    for name, runner in (("stilts", run_stilts), ("raw", run_raw)):
        gc.collect()  # the previous runner's trainer and module hold reference cycles
        if on_cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        tally = runner(setting, cfg, spec, dm)
        out[name] = figures(tally, params, layers, hidden, peak)
        out[name]["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30 if on_cuda else None
        log.info("%s %s: %.0f real tokens/s, MFU %s", setting.model, name, out[name]["tokens_per_s"],
                 out[name]["mfu"])  # fmt: skip
    out["stilts_over_raw"] = out["stilts"]["tokens_per_s"] / out["raw"]["tokens_per_s"]
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_path", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["roberta_base", "roberta_large"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 128])
    parser.add_argument("--lengths", default=HEADLINE_LENGTHS)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--accelerator", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--precision", default="bf16-mixed", help="Lightning precision, e.g. 32-true")
    parser.add_argument("--optim", default=None, help="a conf/optim/ config (default: train.yaml's)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak of an unlisted GPU")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    Lengths.parse(args.lengths)  # a bad spec fails before any model is built
    results: list[dict[str, Any]] = []
    for model in args.models:
        for batch_size in args.batch_sizes:
            setting = PathSetting(
                model, batch_size, args.lengths, args.warmup, args.steps, args.accelerator, args.precision,
                optim=args.optim,
            )  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="stilts-gpu-path-") as tmp:
                try:
                    results.append(measure(setting, Path(tmp), args.peak_tflops and args.peak_tflops * 1e12))
                except (RuntimeError, OSError, ValueError) as err:  # out of memory, a bad setting
                    message = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
                    log.error("%s batch %d: %s", model, batch_size, message)
                    results.append({"setting": dataclasses.asdict(setting), "error": message})
            args.out.write_text(json.dumps(results, indent=2) + "\n")  # after each, so a crash keeps the rest
    log.info("stilts' path against the raw loop:\n%s", markdown(results))
    return results


if __name__ == "__main__":
    main()
