"""Forgetting measures of an encoder against its pretrained reference.

- Masked-LM loss on a fixed, deterministically masked text sample, read out by the *pretrained*
  model's MLM head (the same head for every encoder, so only the encoder varies).
- Relative weight change per layer, ||W - W0||_F / ||W0||_F over the layer's tensors.
- Linear CKA per layer between the token representations of the encoder and of the pretrained
  encoder on the same (unmasked) sample: Kornblith, Norouzi, Lee and Hinton, "Similarity of Neural
  Network Representations Revisited", ICML 2019 (their eq. for linear CKA on centred features).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from stilts.contracts import IGNORE_INDEX

LAYER_PATTERN = re.compile(r"(?:^|\.)layer\.(\d+)\.")


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of two representations of the same n examples (rows): x [n, d1], y [n, d2].

    CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with column-centred Xc, Yc; 1 for equal
    representations and invariant to orthogonal transforms and isotropic scaling.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same examples in both: {x.shape[0]} != {y.shape[0]} rows")
    xc = x.double() - x.double().mean(0, keepdim=True)
    yc = y.double() - y.double().mean(0, keepdim=True)
    cross = torch.linalg.matrix_norm(yc.T @ xc) ** 2
    norms = torch.linalg.matrix_norm(xc.T @ xc) * torch.linalg.matrix_norm(yc.T @ yc)
    return float(cross / norms) if norms > 0 else float("nan")


def layer_of(name: str) -> str:
    """The layer a parameter belongs to: `embeddings`, `layer_<i>` (1-based, as hidden states are
    numbered after the embeddings) or `other` (e.g. a pooler)."""
    match = LAYER_PATTERN.search(name)
    if match:
        return f"layer_{int(match.group(1)) + 1}"
    return "embeddings" if name.startswith("embeddings.") or ".embeddings." in name else "other"


def weight_change(weights: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> dict[str, float]:
    """Relative Frobenius change ||W - W0|| / ||W0|| per layer (all its tensors together) and `all`."""
    if weights.keys() != reference.keys():
        missing = sorted(set(weights) ^ set(reference))[:5]
        raise ValueError(f"the encoders differ in their tensors (e.g. {missing})")
    diff: dict[str, float] = {}
    base: dict[str, float] = {}
    for name, value in weights.items():
        for group in (layer_of(name), "all"):
            change = (value.double() - reference[name].double()).pow(2).sum().item()
            diff[group] = diff.get(group, 0.0) + change
            base[group] = base.get(group, 0.0) + reference[name].double().pow(2).sum().item()
    return {group: (diff[group] / base[group]) ** 0.5 if base[group] > 0 else 0.0 for group in diff}


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
    """Summed cross-entropy over the masked positions and their count (logits [m, V], labels [m])."""
    return float(F.cross_entropy(logits.double(), labels, reduction="sum")), int(labels.numel())


@torch.no_grad()
def hidden_states(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> Sequence[torch.Tensor]:
    """Every layer's output (embeddings first) for a batch."""
    out = encoder(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True
    )
    return out.hidden_states


def unmasked(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch with the original tokens back at the masked positions (for CKA on clean text)."""
    labels = batch["mlm_labels"]
    return {**batch, "input_ids": torch.where(labels != IGNORE_INDEX, labels, batch["input_ids"])}


@torch.no_grad()
def measure_encoder(
    encoder: nn.Module,
    reference: nn.Module,
    readout: nn.Module | None,
    batches: Sequence[dict[str, torch.Tensor]],
    max_tokens: int,
) -> dict[str, object]:
    """All three measures of `encoder` against `reference` on the masked sample `batches`.

    Args:
        encoder: the encoder measured (eval mode is set here).
        reference: the pretrained encoder.
        readout: the pretrained MLM head (hidden [m, H] -> logits [m, V]); None skips the MLM loss.
        batches: masked batches (`input_ids`, `attention_mask`, `mlm_labels`), the same for every encoder.
        max_tokens: CKA uses the first this many non-padding tokens of the sample.
    """
    encoder.eval()
    reference.eval()
    loss_sum, count = 0.0, 0
    ours: list[list[torch.Tensor]] = []
    theirs: list[list[torch.Tensor]] = []
    tokens = 0
    for batch in batches:
        if readout is not None:
            last = hidden_states(encoder, batch)[-1]
            chosen = batch["mlm_labels"] != IGNORE_INDEX
            part, n = masked_lm_loss(readout(last[chosen]), batch["mlm_labels"][chosen])
            loss_sum, count = loss_sum + part, count + n
        if tokens < max_tokens:
            clean = unmasked(batch)
            keep = clean["attention_mask"].bool()
            ours.append([h[keep] for h in hidden_states(encoder, clean)])
            theirs.append([h[keep] for h in hidden_states(reference, clean)])
            tokens += int(keep.sum())
    layers = len(ours[0]) if ours else 0
    names = ["embeddings", *(f"layer_{i}" for i in range(1, layers))]
    cka = {
        name: linear_cka(
            torch.cat([b[i] for b in ours])[:max_tokens], torch.cat([b[i] for b in theirs])[:max_tokens]
        )
        for i, name in enumerate(names)
    }
    change = weight_change(
        {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        {k: v.detach().cpu() for k, v in reference.state_dict().items()},
    )
    return {
        "mlm_loss": loss_sum / count if count else None,
        "masked_tokens": count,
        "weight_change": change,
        "cka": cka,
        "cka_tokens": min(tokens, max_tokens),
    }
