"""A pooled model that also reads the geometry of its views: the read sections added
to its decoder through zero-initialised residual branches.

The pooled models (one code regressed from the views) know their training family
well: Table 1 is met on it. Out of it they recall the family's nearest head, and
training them on a wider prior trades the one for the other (docs/research-log.md,
sessions 13-20). Here the pooled model stays as it is and learns only a correction
from what the views show: the sections each view cuts (:class:`.sections.SectionViews`:
bone and cavity, lifted along the nominal planes, a 3D encoder) enter its decoder
after each upsampling as

    x <- x + A_k([x, grid_k])

where ``A_k`` is a convolution, a norm, a SiLU and a 1 x 1 x 1 convolution whose
weights start at zero (the "zero convolution" of ControlNet; Zhang, Rao and Agrawala,
ICCV 2023). At the start the model is exactly the pooled one, so what training adds
is the views' geometry, not a new prior; the pooled path can stay frozen
(``TrainConfig.freeze``), which keeps its answers in family, its view encoders (and
the plane gate fitted on them) and its latent space.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import Conv3d, Decoder3D
from .lifting import N_VIEWS, grid_mix

#: parameter-name prefixes of what an adapted model adds to its pooled model
ADDED = ("sections.", "decoder.adapters.")


def _adapter(width: int, lifted: int, kernel: int) -> nn.Sequential:
    zero = Conv3d(width, width, 1)
    nn.init.zeros_(zero.weight)
    nn.init.zeros_(zero.bias)
    return nn.Sequential(*grid_mix(width, lifted, kernel), zero)


class AdaptedDecoder(Decoder3D):
    """:class:`.blocks.Decoder3D` (same parameters, same names) with a residual
    branch after each upsampling from the lifted map of its size (``grids``, coarsest
    first, each with the views' presence; ``lifted`` their widths); ``kernels``: the
    branches' convolution widths (the finest last); ``min_views``: a sample's branches
    act only when it has at least this many views (read from the grids' presence
    channels), else the decoder is the pooled one."""

    def __init__(
        self,
        in_features: int,
        out_size: int,
        channels: tuple[int, ...],
        lifted: tuple[int, ...],
        layers: int = 1,
        min_views: int = 1,
        kernels: tuple[int, ...] = (3, 3, 1),
    ):
        super().__init__(in_features, out_size, channels, layers=layers)
        self.min_views = min_views
        ups = len(channels) - 1  # the finest ``ups`` lifted maps meet the upsamplings
        if len(lifted) < ups:
            raise ValueError(f"an adapted decoder needs {ups} lifted widths, got {len(lifted)}")
        self.adapters = nn.ModuleList(
            _adapter(b, c, k) for b, c, k in zip(channels[1:], lifted[-ups:], kernels[-ups:])
        )

    def skip(self, k: int, x: torch.Tensor, grids: list[torch.Tensor] | None) -> torch.Tensor:
        if grids is None:
            return x
        g = grids[len(grids) - len(self.adapters) + k]
        branch = self.adapters[k](torch.cat([x, g.expand(x.shape[0], *g.shape[1:])], 1))
        if self.min_views > 1:
            present = g[:, -N_VIEWS:, :1, :1, :1].sum(1, keepdim=True)  # (B, 1, 1, 1, 1)
            branch = branch * (present > self.min_views - 0.5).to(branch.dtype)
        return x + branch
