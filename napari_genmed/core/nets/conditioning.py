"""The views as conditional variables: one 2D encoder per standard plane.

Views arrive as a ``(B, 3, H, W)`` tensor ordered axial, sagittal, coronal with a
``(B, 3)`` mask of which are present (a missing view is zeros and mask 0). Each
view has its own encoder (the planes look different); a missing view's features are
zeroed and the mask itself is part of the condition, so the networks learn what
"missing" means (they are trained with view dropout). The pose is never an input:
the views are not registered.

At inference (not training, no gradients) the three encoders' convolutions run side
by side as one grouped stack (:mod:`.side_by_side`; same numbers, about 40% less
time); a gated reconstruction passes the maps from a pass shared with the plane gate's
encoders (``maps``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES
from .blocks import Encoder, mlp
from .side_by_side import SideBySideCache, block_outputs

N_VIEWS = len(VIEW_NAMES)


class ViewEncoders(nn.Module):
    """``(views, mask) -> (B, 3, F)`` per-view features, zero where missing."""

    def __init__(self, view_size: int, channels: tuple[int, ...], features: int):
        super().__init__()
        self.encoders = nn.ModuleList(Encoder(2, view_size, channels, features) for _ in VIEW_NAMES)
        self._grouped = SideBySideCache(size=2)  #: not saved: a frozen copy for inference

    @property
    def stacks(self) -> list[nn.Sequential]:
        """The encoders' convolution stacks, axial, sagittal, coronal."""
        return [enc.features for enc in self.encoders]

    def forward(
        self, views: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``maps``: the last convolution block's outputs ``(B, 3, C, h, w)``, computed
        elsewhere (a pass shared with the plane gate); otherwise from ``views``."""
        if maps is None and not self.training and not torch.is_grad_enabled():
            stack = self._grouped.get(self.stacks, views.device)
            last = block_outputs(stack, views)[-1]
            maps = last.view(last.shape[0], N_VIEWS, -1, *last.shape[2:])
        if maps is None:
            feats = [enc(views[:, k : k + 1] * 2.0 - 1.0) for k, enc in enumerate(self.encoders)]
        else:
            feats = [enc.head(maps[:, k].flatten(1)) for k, enc in enumerate(self.encoders)]
        return torch.stack(feats, dim=1) * mask[..., None].to(views.dtype)


class Conditioner(nn.Module):
    """``(views, mask) -> (B, out)``: the pooled condition of all present views."""

    def __init__(self, view_size: int, channels: tuple[int, ...], features: int, out: int):
        super().__init__()
        self.views = ViewEncoders(view_size, channels, features)
        self.mix = mlp((N_VIEWS * features + N_VIEWS, out, out))

    def features(
        self, views: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(per-view features (B, 3, F), pooled condition (B, out))``."""
        f = self.views(views, mask, maps)
        return f, self.mix(torch.cat([f.flatten(1), mask.to(f.dtype)], dim=1))

    def forward(
        self, views: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.features(views, mask, maps)[1]


def check_views(views: torch.Tensor, mask: torch.Tensor, view_size: int) -> None:
    if views.ndim != 4 or views.shape[1] != N_VIEWS or views.shape[2:] != (view_size, view_size):
        raise ValueError(
            f"views must be (B, {N_VIEWS}, {view_size}, {view_size}), got {tuple(views.shape)}"
        )
    if mask.shape != views.shape[:2]:
        raise ValueError(f"mask must be (B, {N_VIEWS}), got {tuple(mask.shape)}")
