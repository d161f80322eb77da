"""Reading geometry from the planes: each view's feature maps lifted into the 3D grid
along its plane, and a decoder with skip connections from them (a 2D-to-3D U-Net).

The pooled-vector conditioning (:mod:`.conditioning`) squeezes the three planes into
one code: a compact parametrisation of the training family, which out of it recalls
the nearest head of that family instead of following the views. Here the spatial
layout of each view survives. A view's name fixes its nominal orientation (its pose,
which acquired views do not carry, is never an input; the 10 degree, 5 mm jitter is
learnt), so its 2D feature map ``F`` (rows, columns) at a scale whose side equals the
grid's is back-projected along the plane's normal:

- axial (rows along -x, the beam; columns along +y): ``V[z, y, x] = F[g-1-x, y]``,
- sagittal (rows along -z from the vertex; columns along +y): ``V[z, y, x] = F[g-1-z, y]``,
- coronal (rows along -z; columns along +x): ``V[z, y, x] = F[g-1-z, x]``,

the present views summed (each view has its own encoder, so the sum keeps which is
which) with one presence channel per view. The decoder grows from a seed of
``[z, pooled views]`` at 1/16 of the grid and concatenates the lifted volumes at 1/8,
1/4 and 1/2 before its convolutions; its last stage is the voxel shuffle of
:class:`~.blocks.Decoder3D`. The latent z keeps what the views leave open (it enters
at the seed), the lifted skips what they show. Views must be twice the grid's side
(the same field of view at half the voxel size: 128 px at 1 mm for 64^3 at 2 mm).
"""

from __future__ import annotations

import torch
from torch import nn

from ..sim.geometry import VIEW_NAMES
from .blocks import Conv3d, down_block, mlp, up_block, voxel_shuffle

N_VIEWS = len(VIEW_NAMES)
SKIPS = 3  #: lifted scales: 1/8, 1/4 and 1/2 of the grid


def lift(feature: torch.Tensor, view: str) -> torch.Tensor:
    """``(B, C, g, g)`` feature map of ``view`` -> ``(B, C, g, g, g)`` volume (z, y, x)."""
    g = feature.shape[-1]
    f = feature.flip(2)  # row index r -> g - 1 - r
    if view == "axial":
        return f.transpose(2, 3).unsqueeze(2).expand(-1, -1, g, -1, -1)
    if view == "sagittal":
        return f.unsqueeze(4).expand(-1, -1, -1, -1, g)
    if view == "coronal":
        return f.unsqueeze(3).expand(-1, -1, -1, g, -1)
    raise ValueError(f"unknown view {view!r}")


class ViewPyramid(nn.Module):
    """One view's 2D encoder: feature maps at 1/4, 1/8 and 1/16 of the view's side
    (1/2, 1/4, 1/8 of the grid's), each projected (1 x 1) to ``skips`` channels before
    it is lifted (thin skips keep the 3D convolutions cheap), and a pooled vector."""

    def __init__(self, channels: tuple[int, ...], skips: tuple[int, ...], features: int):
        super().__init__()
        if len(channels) != SKIPS + 1 or len(skips) != SKIPS:
            raise ValueError(f"a lifted view encoder has {SKIPS + 1} stages and {SKIPS} skips")
        ins = (1, *channels[:-1])
        self.stages = nn.ModuleList(down_block(2, a, b) for a, b in zip(ins, channels))
        self.project = nn.ModuleList(nn.Conv2d(c, k, 1) for c, k in zip(channels[1:], skips))
        self.head = nn.Linear(channels[-1], features)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return [p(m) for p, m in zip(self.project, maps[1:])], self.head(x.mean((2, 3)))


class LiftedViews(nn.Module):
    """``(views, mask) -> condition``: ``pooled`` (B, out), ``views`` (B, 3, F),
    ``mask`` (B, 3) and ``grids``, the lifted volumes from the coarsest scale up."""

    def __init__(self, channels: tuple[int, ...], skips: tuple[int, ...], features: int, out: int):
        super().__init__()
        self.encoders = nn.ModuleList(ViewPyramid(channels, skips, features) for _ in VIEW_NAMES)
        self.mix = mlp((N_VIEWS * features + N_VIEWS, out, out))

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> dict:
        m = mask.to(views.dtype)
        grids, vectors = None, []
        for k, (name, enc) in enumerate(zip(VIEW_NAMES, self.encoders)):
            maps, vector = enc(views[:, k : k + 1] * 2.0 - 1.0)
            w = m[:, k].view(-1, 1, 1, 1, 1)
            lifted = [lift(f, name) * w for f in maps]
            grids = lifted if grids is None else [a + b for a, b in zip(grids, lifted)]
            vectors.append(vector * m[:, k : k + 1])
        feats = torch.stack(vectors, 1)
        pooled = self.mix(torch.cat([feats.flatten(1), m], 1))
        with_mask = []
        for g in reversed(grids):  # coarsest first, each with the presence of each view
            presence = m.view(*m.shape, 1, 1, 1).expand(-1, -1, *g.shape[2:])
            with_mask.append(torch.cat([g, presence], 1))
        return {"pooled": pooled, "views": feats, "mask": m, "grids": with_mask}


def grid_mix(width: int, lifted: int, kernel: int) -> nn.Sequential:
    """A decoder's ``width`` channels met by a lifted map (``lifted`` channels and the
    views' presence): a convolution ``kernel`` wide back to ``width``, a norm, a SiLU."""
    return nn.Sequential(
        Conv3d(width + lifted + N_VIEWS, width, kernel, padding=kernel // 2),
        nn.GroupNorm(min(8, width), width),
        nn.SiLU(),
    )


class LiftedDecoder(nn.Module):
    """``(vector, grids) -> (B, layers, S, S, S)`` logits: a seed at 1/16 of the grid
    from the vector, then at each of 1/8, 1/4, 1/2 an upsampling, the lifted volume
    concatenated, a convolution (``kernels`` wide); the voxel shuffle to full size."""

    def __init__(
        self,
        in_features: int,
        out_size: int,
        channels: tuple[int, ...],
        lifted: tuple[int, ...],
        layers: int = 1,
        kernels: tuple[int, ...] = (3, 3, 3),
    ):
        super().__init__()
        if len(channels) != SKIPS + 1 or out_size % 16:
            raise ValueError(
                f"a lifted decoder needs {SKIPS + 1} widths and a grid divisible by 16"
            )
        self.start, self.c0 = out_size // 16, channels[0]
        self.seed = nn.Linear(in_features, channels[0] * self.start**3)
        self.ups = nn.ModuleList(up_block(3, a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.mixes = nn.ModuleList(
            grid_mix(b, c, k) for b, c, k in zip(channels[1:], lifted, kernels)
        )
        self.to_subvoxels = Conv3d(channels[-1], 8 * layers, 3, padding=1)

    def forward(self, v: torch.Tensor, grids: list[torch.Tensor]) -> torch.Tensor:
        x = nn.functional.silu(self.seed(v).view(-1, self.c0, self.start, self.start, self.start))
        for up, mix, grid in zip(self.ups, self.mixes, grids):
            x = up(x)
            x = mix(torch.cat([x, grid.expand(x.shape[0], *grid.shape[1:])], 1))
        return voxel_shuffle(self.to_subvoxels(x))
