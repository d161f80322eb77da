"""The skull as a decoder predicts it: one logit per voxel, or three smooth layers.

A shell decoder (``output_layers = 1``) predicts the skull's logits directly. A
layered decoder (``output_layers = 3``) predicts the layers of :data:`SKULL_LAYERS`,
and the skull is head and not cavity and bone:

    P(skull) = P(head) P(not cavity) P(bone)

computed in log space (:func:`skull_logits`). :func:`layer_targets` gives the layers'
targets from a label volume.
"""

from __future__ import annotations

import torch
from torch import nn

from ..sim import labels as L

#: what a layered decoder (``output_layers = 3``) predicts: the solid head (inside
#: the outer skull surface), the cranial cavity (inside the inner surface) and bone
#: rather than suture or fontanelle (learnt on the band between the two surfaces).
#: The skull is head and not cavity and bone. The two solids are smooth fields, so
#: their boundaries are those of smooth fields rather than of a one-to-two-voxel
#: ridge. Measured (README, Table 1): as an autoencoder with wider last stages it
#: beats the shell decoder (Dice 0.937 vs 0.929); fine-tuned into the bundled view
#: models it changed nothing material, so they keep the shell.
SKULL_LAYERS = ("head", "cavity", "bone")


def layer_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label volumes ``(B, D, H, W)`` -> the targets of :data:`SKULL_LAYERS`
    ``(B, 3, D, H, W)`` and the band between the skull surfaces ``(B, 1, D, H, W)``."""
    head = (labels != L.FLUID) & (labels != L.SCALP)
    cavity = head & (labels != L.BONE) & (labels != L.MEMBRANE)
    band = head & ~cavity
    return torch.stack([head, cavity, labels == L.BONE], 1).float(), band.unsqueeze(1).float()


def skull_logits(raw: torch.Tensor) -> torch.Tensor:
    """A decoder's output ``(B, 1 or 3, ...)`` -> skull logits ``(B, 1, ...)``:
    logit of P(head) P(not cavity) P(bone) for layers, computed in log space."""
    if raw.shape[1] == 1:
        return raw
    head, cavity, bone = raw[:, 0:1], raw[:, 1:2], raw[:, 2:3]
    sig = nn.functional.logsigmoid
    log_p = (sig(head) + sig(-cavity) + sig(bone)).clamp(max=-1e-6)
    return log_p - torch.log(-torch.expm1(log_p))
