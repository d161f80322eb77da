"""A spatial scene code for the mental maps: observed slices back-projected into a
coarse 3D feature grid, and query planes sliced out of it.

The GQN-style scene code (a sum of per-observation vectors) forgets where in the
head each observation lies, so a second or third slice adds little. Here each
observed slice is encoded to a 2D feature map and spread into a ``G^3`` grid over
the 128 mm field along its plane: a voxel at signed distance ``d`` from the plane
receives the features at its projection with weight ``exp(-d^2 / 2 sigma^2)``.
Summing over the observations keeps the code independent of their order (and zero
for none); a second channel holds the summed weights (how well each voxel is seen)
and a third ``log(1 + n)``. A small 3D U-net turns the sum into a feature volume,
from which any query plane is sampled trilinearly (``grid_sample``).

Coordinates: a pose's 12 features (scenes.pose_features) give its centre relative
to the field's centre in units of 32 mm and its row, column and normal axes. In the
grid's normalised coordinates ([-1, 1] over the 128 mm field, ``align_corners=False``)
the centre is ``features[:3] / 2`` and the 64 x 2 mm image spans [-1, 1] along its
row and column axes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import Conv3d


def plane_points(features: torch.Tensor, side: int) -> torch.Tensor:
    """Normalised field coordinates ``(B, side, side, 3)`` (volume axes 0, 1, 2) of
    the pixel centres of a ``side`` x ``side`` grid over each plane ``(B, 12)``."""
    t = (torch.arange(side, dtype=features.dtype, device=features.device) * 2 + 1) / side - 1
    centre, row, col = (
        features[:, None, None, :3] / 2,
        features[:, None, None, 3:6],
        features[:, None, None, 6:9],
    )
    return centre + t[None, :, None, None] * row + t[None, None, :, None] * col


def voxel_centres(side: int, like: torch.Tensor) -> torch.Tensor:
    """``(side^3, 3)`` normalised coordinates of the grid's voxel centres."""
    t = (torch.arange(side, dtype=like.dtype, device=like.device) * 2 + 1) / side - 1
    return torch.stack(torch.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)


def backproject(
    maps: torch.Tensor, features: torch.Tensor, mask: torch.Tensor, side: int, sigma: float
) -> torch.Tensor:
    """Sum of ``(B, N, C, h, w)`` feature maps on their planes ``(B, N, 12)`` (``mask``
    ``(B, N)`` marks real ones) into ``(B, C + 2, side, side, side)``: the weighted
    features, the summed weights, ``log(1 + n)``."""
    b, n, c = maps.shape[:3]
    x = voxel_centres(side, maps)  # (V, 3)
    count = torch.log1p(mask.sum(1))[:, None, None].expand(b, 1, x.shape[0])
    if n == 0:
        return torch.cat([maps.new_zeros(b, c + 1, x.shape[0]), count], 1).reshape(
            b, c + 2, side, side, side
        )
    rel = x[None, None] - features[:, :, None, :3] / 2  # (B, N, V, 3)
    u = (rel * features[:, :, None, 3:6]).sum(-1)  # along the rows
    v = (rel * features[:, :, None, 6:9]).sum(-1)  # along the columns
    d = (rel * features[:, :, None, 9:12]).sum(-1)
    grid = torch.stack([v, u], -1).reshape(b * n, 1, -1, 2)  # grid_sample: (x = column, y = row)
    sampled = F.grid_sample(
        maps.reshape(b * n, c, *maps.shape[-2:]), grid, align_corners=False
    ).reshape(b, n, c, -1)
    w = torch.exp(-0.5 * (d / sigma) ** 2) * mask[..., None]  # (B, N, V)
    summed = (sampled * w[:, :, None]).sum(1)
    return torch.cat([summed, w.sum(1)[:, None], count], 1).reshape(b, c + 2, side, side, side)


def slice_volume(volume: torch.Tensor, query: torch.Tensor, side: int) -> torch.Tensor:
    """Trilinear samples ``(B, C, side, side)`` of ``(B, C, G, G, G)`` on the planes ``(B, 12)``."""
    p = plane_points(query, side)  # (B, S, S, 3) in volume axes 0, 1, 2
    grid = p.flip(-1)[:, None]  # grid_sample wants (x, y, z) = (axis 2, axis 1, axis 0)
    return F.grid_sample(volume, grid, align_corners=False)[:, :, 0]


def _conv3(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        Conv3d(c_in, c_out, 3, stride=stride, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


class SceneNet3D(nn.Module):
    """A small 3D U-net over the back-projected grid (G -> G/2 -> G/4 and back)."""

    def __init__(self, c_in: int, widths: tuple[int, int, int], c_out: int):
        super().__init__()
        a, b, c = widths
        self.enc0 = nn.Sequential(_conv3(c_in, a), _conv3(a, a))
        self.enc1 = nn.Sequential(_conv3(a, b, 2), _conv3(b, b))
        self.enc2 = nn.Sequential(_conv3(b, c, 2), _conv3(c, c))
        self.up1 = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        self.dec1 = nn.Sequential(_conv3(c + b, b), _conv3(b, b))
        self.dec0 = nn.Sequential(_conv3(b + a, c_out), Conv3d(c_out, c_out, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        d1 = self.dec1(torch.cat([self.up1(e2), e1], 1))
        return self.dec0(torch.cat([self.up1(d1), e0], 1))
