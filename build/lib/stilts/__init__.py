"""stilts: intermediate-task transfer learning (STILTs) experiments on Hydra + PyTorch Lightning."""

__version__ = "0.1.0"
