"""Network blocks shared by the 2D view encoders and the 3D skull networks.

As in MONAI, blocks take ``spatial_dims`` (2 or 3) so that the 2D encoders of the
views and the 3D encoder of the skull are the same code. The 3D decoder ends in a
sub-voxel shuffle (the 3D analogue of pixel shuffle): its last stage runs at half
resolution and emits 8 channels that become the 2 x 2 x 2 sub-voxels, which keeps a
64^3 output cheap enough to train on a CPU. A decoder may emit several layers
(``layers``): then each is also predicted at half resolution and upsampled
trilinearly, the sub-voxels adding the detail: meant for smooth fields (the solid
head, the cranial cavity; see ``skull_layers.SKULL_LAYERS`` for what it measured).
"""

from __future__ import annotations

import torch
from torch import nn


class Conv3d(nn.Conv3d):
    """``nn.Conv3d`` that calls oneDNN directly for float32 on the CPU.

    For a single volume torch 2.13's CPU backend picks its im2col fallback
    (``slow_conv3d``) for these small 3D convolutions: 48 ms instead of 8 ms for the
    decoder's last layer at 32^3, most of a latent slider move. Same weights, same
    results (within float32 rounding), autograd included."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and self.padding_mode == "zeros"
            and not isinstance(self.padding, str)
            and torch.backends.mkldnn.is_available()
        ):
            return torch.mkldnn_convolution(
                x.contiguous(),
                self.weight,
                self.bias,
                self.padding,
                self.stride,
                self.dilation,
                self.groups,
            )
        return super().forward(x)


_CONV = {2: nn.Conv2d, 3: Conv3d}
_CONVT = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_NORM = {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


def down_block(spatial_dims: int, c_in: int, c_out: int) -> nn.Sequential:
    """Halve the resolution: 4-wide strided convolution, group norm, SiLU."""
    return nn.Sequential(
        _CONV[spatial_dims](c_in, c_out, 4, stride=2, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


def up_block(spatial_dims: int, c_in: int, c_out: int) -> nn.Sequential:
    """Double the resolution: 4-wide transposed convolution, group norm, SiLU."""
    return nn.Sequential(
        _CONVT[spatial_dims](c_in, c_out, 4, stride=2, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


class Encoder(nn.Module):
    """Image or volume -> feature vector: strided convolutions, then a linear map.

    ``in_size`` is the input's side length; ``channels`` the width after each
    halving."""

    def __init__(
        self,
        spatial_dims: int,
        in_size: int,
        channels: tuple[int, ...],
        out_features: int,
        in_channels: int = 1,
    ):
        super().__init__()
        layers, c = [], in_channels
        for width in channels:
            layers.append(down_block(spatial_dims, c, width))
            c = width
        self.features = nn.Sequential(*layers)
        side = in_size // 2 ** len(channels)
        if side < 1:
            raise ValueError(f"{len(channels)} halvings do not fit an input of size {in_size}")
        self.head = nn.Linear(c * side**spatial_dims, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def voxel_shuffle(x: torch.Tensor) -> torch.Tensor:
    """(B, 8C, D, H, W) -> (B, C, 2D, 2H, 2W): channels become 2x2x2 sub-voxels."""
    b, c8, d, h, w = x.shape
    c = c8 // 8
    x = x.view(b, c, 2, 2, 2, d, h, w).permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(b, c, 2 * d, 2 * h, 2 * w)


class Decoder3D(nn.Module):
    """Vector -> (B, 1, S, S, S) logits. ``channels`` are the widths from the
    ``start``-sized seed grid up to half the output size; the last stage is a voxel
    shuffle to full size. ``layers`` output channels: 1 (plain logits) or more
    (each the sum of a trilinearly upsampled half-resolution field and its
    sub-voxels)."""

    def __init__(
        self,
        in_features: int,
        out_size: int,
        channels: tuple[int, ...] = (64, 64, 32, 16),
        start: int = 4,
        layers: int = 1,
    ):
        super().__init__()
        if start * 2 ** len(channels) != out_size:
            raise ValueError(f"start {start} x 2^{len(channels)} != output size {out_size}")
        if layers < 1:
            raise ValueError(f"a decoder needs at least one output layer, got {layers}")
        self.start, self.c0 = start, channels[0]
        self.seed = nn.Linear(in_features, channels[0] * start**3)
        ups = [up_block(3, a, b) for a, b in zip(channels[:-1], channels[1:])]
        self.ups = nn.Sequential(*ups)
        self.to_subvoxels = Conv3d(channels[-1], 8 * layers, 3, padding=1)
        self.coarse = Conv3d(channels[-1], layers, 3, padding=1) if layers > 1 else None

    def forward(self, v: torch.Tensor, grids: list[torch.Tensor] | None = None) -> torch.Tensor:
        x = nn.functional.silu(self.seed(v).view(-1, self.c0, self.start, self.start, self.start))
        for k, up in enumerate(self.ups):
            x = self.skip(k, up(x), grids)
        out = voxel_shuffle(self.to_subvoxels(x))
        if self.coarse is not None:
            out = out + nn.functional.interpolate(
                self.coarse(x), scale_factor=2, mode="trilinear", align_corners=False
            )
        return out

    def skip(self, k: int, x: torch.Tensor, grids: list[torch.Tensor] | None) -> torch.Tensor:
        """What enters after the ``k``-th upsampling besides ``x``: nothing here; a
        decoder with skips (:class:`.adapter.AdaptedDecoder`) adds them."""
        return x


def mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1])
