"""The views as conditional variables: one 2D encoder per standard plane.

Views arrive as a ``(B, 3, H, W)`` tensor ordered axial, sagittal, coronal with a
``(B, 3)`` mask of which are present (a missing view is zeros and mask 0). Each
view has its own encoder (the planes look different); a missing view's features are
zeroed and the mask itself is part of the condition, so the networks learn what
"missing" means (they are trained with view dropout). The pose is never an input:
the views are not registered.
"""

from __future__ import annotations

import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES
from .blocks import Encoder, mlp

N_VIEWS = len(VIEW_NAMES)


class ViewEncoders(nn.Module):
    """``(views, mask) -> (B, 3, F)`` per-view features, zero where missing."""

    def __init__(self, view_size: int, channels: tuple[int, ...], features: int):
        super().__init__()
        self.encoders = nn.ModuleList(Encoder(2, view_size, channels, features) for _ in VIEW_NAMES)

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feats = [enc(views[:, k : k + 1] * 2.0 - 1.0) for k, enc in enumerate(self.encoders)]
        return torch.stack(feats, dim=1) * mask[..., None].to(views.dtype)


class Conditioner(nn.Module):
    """``(views, mask) -> (B, out)``: the pooled condition of all present views."""

    def __init__(self, view_size: int, channels: tuple[int, ...], features: int, out: int):
        super().__init__()
        self.views = ViewEncoders(view_size, channels, features)
        self.mix = mlp((N_VIEWS * features + N_VIEWS, out, out))

    def features(
        self, views: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(per-view features (B, 3, F), pooled condition (B, out))``."""
        f = self.views(views, mask)
        return f, self.mix(torch.cat([f.flatten(1), mask.to(f.dtype)], dim=1))

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.features(views, mask)[1]


def check_views(views: torch.Tensor, mask: torch.Tensor, view_size: int) -> None:
    if views.ndim != 4 or views.shape[1] != N_VIEWS or views.shape[2:] != (view_size, view_size):
        raise ValueError(
            f"views must be (B, {N_VIEWS}, {view_size}, {view_size}), got {tuple(views.shape)}"
        )
    if mask.shape != views.shape[:2]:
        raise ValueError(f"mask must be (B, {N_VIEWS}), got {tuple(mask.shape)}")
