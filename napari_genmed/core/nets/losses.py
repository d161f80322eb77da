"""The skull losses: binary cross-entropy plus a soft overlap term.

The skull is a few percent of the voxels, so BCE alone under-weights it; the overlap
term is the soft Tversky index (Salehi et al., MLMI 2017)

    T = TP / (TP + a FP + (1 - a) FN),

written so that ``a = 0.5`` (``fp_weight``) is exactly soft Dice; above 0.5 it trades
sensitivity for precision. For a layered decoder (:mod:`.skull_layers`) the BCE of
the head and cavity everywhere and of bone on the band between them is added.
"""

from __future__ import annotations

import torch
from torch import nn

from .skull_layers import layer_targets, skull_logits


def soft_dice(
    logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0, fp_weight: float = 0.5
) -> torch.Tensor:
    """Soft Dice per sample; with ``fp_weight`` other than 0.5 the soft Tversky index
    TP / (TP + a FP + (1 - a) FN), written so that a = 0.5 is exactly soft Dice."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    tp = (p * t).sum(1)
    fp, fn = p.sum(1) - tp, t.sum(1) - tp
    return (2 * tp + eps) / (2 * tp + 2 * fp_weight * fp + 2 * (1.0 - fp_weight) * fn + eps)


def reconstruction_loss(
    logits: torch.Tensor, target: torch.Tensor, dice_weight: float, fp_weight: float = 0.5
) -> torch.Tensor:
    bce = (
        nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        .flatten(1)
        .mean(1)
    )
    return bce + dice_weight * (1.0 - soft_dice(logits, target, fp_weight=fp_weight))


def skull_loss(
    raw: torch.Tensor, batch: dict, dice_weight: float, fp_weight: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample loss of a decoder's output and the skull logits: BCE + soft Dice
    on the skull, plus for layers the BCE of the head and cavity everywhere and of
    bone on the band (each a mean over all voxels)."""
    logits = skull_logits(raw)
    loss = reconstruction_loss(logits, batch["skull"], dice_weight, fp_weight)
    if raw.shape[1] > 1:
        if "labels" not in batch:
            raise ValueError(
                "a layered skull decoder learns from label volumes: the batch needs 'labels'"
            )
        target, band = layer_targets(batch["labels"])
        bce = nn.functional.binary_cross_entropy_with_logits(raw.float(), target, reduction="none")
        loss = loss + (bce[:, :2].sum(1, keepdim=True) + bce[:, 2:] * band).flatten(1).mean(1)
    return loss, logits
