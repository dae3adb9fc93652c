"""Optimizers and learning-rate schedules, named by the `conf/optim/` configs (`_partial_: true`;
`TransferModule.configure_optimizers` completes them with the parameters, the task's learning rate and
the number of training steps).

- `BertAdam` + `bert_adam_schedule`: the paper's optimisation. jiant v1 trains with
  `optimizer = bert_adam` (jiant/config/taskmaster/base_roberta.conf:25), allennlp 0.8.4's registered
  `pytorch_pretrained_bert.optimization.BertAdam` (0.6.x) with `warmup = 0.1` and `t_total` set from
  the run length (jiant/trainer.py:126-130, 501-514), over every trainable parameter in one group
  (jiant/__main__.py:538). Its rules differ from torch's AdamW: no bias correction, weight decay on
  every tensor, each tensor's gradient clipped to norm 1.0 inside the step, and a schedule whose
  first step has learning rate 0.
- torch `Adam(amsgrad=True)` + `constant_schedule`: jiant's edge-probing recipe (base_edgeprobe.conf),
  the edge-probing tasks' own `optim` (conf/optim/edge_probing.yaml).
- `fused_adamw` + `linear_warmup_then_decay`: torch AdamW with bias correction and the
  warm-up/decay stilts used before it followed jiant (the demo's recipe; a modern option).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

ParamGroups = list[dict[str, Any]]


class BertAdam(Optimizer):
    """Adam as pytorch_pretrained_bert's `BertAdam` computes it (the version jiant v1 ran).

    Per tensor, each step: clip its gradient to norm `max_grad_norm`; m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g^2; update = m / (sqrt(v) + eps) + weight_decay * p; p -= lr * update.
    No bias correction of m and v. The schedule multiplies `lr` (see `bert_adam_schedule`).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (the schedule's peak).
        betas: (b1, b2).
        eps: added to sqrt(v).
        weight_decay: decoupled weight decay, on every tensor of a group.
        max_grad_norm: per-tensor gradient clipping norm (0 or less: no clipping).
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter] | ParamGroups,
        *,
        lr: float,
        betas: Sequence[float],
        eps: float,
        weight_decay: float,
        max_grad_norm: float,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(
                f"BertAdam: invalid lr {lr}, betas {betas}, eps {eps} or weight_decay {weight_decay}"
            )
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "max_grad_norm": max_grad_norm,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("BertAdam does not support sparse gradients")
            for param in params:
                if not self.state[param]:
                    self.state[param].update(
                        step=0, exp_avg=torch.zeros_like(param), exp_avg_sq=torch.zeros_like(param)
                    )
            # The same arithmetic as a loop over tensors, in torch's multi-tensor (`_foreach`) kernels
            # as torch.optim's own optimizers use them: one launch per operation, not per tensor.
            grads = [p.grad for p in params]
            exp_avgs = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sqs = [self.state[p]["exp_avg_sq"] for p in params]
            if group["max_grad_norm"] > 0:  # each tensor as torch's clip_grad_norm_(p, max_grad_norm)
                norms = torch.stack(torch._foreach_norm(grads))
                scales = torch.clamp(group["max_grad_norm"] / (norms + 1e-6), max=1.0)
                torch._foreach_mul_(grads, list(scales.unbind()))
            beta1, beta2 = group["betas"]
            torch._foreach_mul_(exp_avgs, beta1)
            torch._foreach_add_(exp_avgs, grads, alpha=1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            denominators = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_add_(denominators, group["eps"])
            updates = torch._foreach_div(exp_avgs, denominators)
            if group["weight_decay"] > 0:
                torch._foreach_add_(updates, params, alpha=group["weight_decay"])
            torch._foreach_add_(params, updates, alpha=-group["lr"])
            for param in params:
                self.state[param]["step"] += 1
        return loss


def fused_adamw(
    params: ParamGroups, *, lr: float, betas: Sequence[float], eps: float, weight_decay: float
) -> torch.optim.AdamW:
    """torch AdamW, with the fused kernel (one kernel for all tensors, the same update rule) where
    every parameter allows it: floating point, on the CPU or a CUDA device."""
    tensors = [p for group in params for p in group["params"]]
    fused = bool(tensors) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in tensors)
    return torch.optim.AdamW(
        params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, fused=fused
    )


def bert_adam_schedule(optimizer: Optimizer, total_steps: int, *, warmup_ratio: float) -> LambdaLR:
    """pytorch_pretrained_bert's `WarmupLinearSchedule` (0.6.x), which BertAdam applies at step s
    (0-based): progress x = s / total_steps; factor x / warmup while x < warmup, then
    max((x - 1) / (warmup - 1), 0). The first step has factor 0."""
    if not 0 < warmup_ratio < 1:
        raise ValueError(f"bert_adam_schedule: warmup_ratio must be in (0, 1), got {warmup_ratio}")
    total = max(1, total_steps)

    def factor(step: int) -> float:
        progress = step / total
        if progress < warmup_ratio:
            return progress / warmup_ratio
        return max((progress - 1.0) / (warmup_ratio - 1.0), 0.0)

    return LambdaLR(optimizer, factor)


def linear_warmup_then_decay(optimizer: Optimizer, total_steps: int, *, warmup_ratio: float) -> LambdaLR:
    """Linear warm-up over int(warmup_ratio * total_steps) steps, reaching the full rate at the end of
    it ((s + 1) / warmup), then linear decay to 0 at total_steps."""
    total = max(1, total_steps)
    warmup = int(warmup_ratio * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return LambdaLR(optimizer, factor)


def constant_schedule(optimizer: Optimizer, total_steps: int) -> LambdaLR:
    """The learning rate unchanged at every step (jiant's edge probing: no warm-up, and its plateau
    scheduler never fires); `total_steps` is accepted for the common schedule signature."""
    del total_steps
    return LambdaLR(optimizer, lambda step: 1.0)


def parameter_groups(module: nn.Module, no_decay: Sequence[str]) -> ParamGroups:
    """The trainable parameters in one group, plus a group without weight decay for the parameters
    whose name ends with one of `no_decay` (empty groups left out)."""
    decay, exempt = [], []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (exempt if no_decay and name.endswith(tuple(no_decay)) else decay).append(param)
    groups: ParamGroups = [{"params": decay}] if decay else []
    if exempt:
        groups.append({"params": exempt, "weight_decay": 0.0})
    return groups
