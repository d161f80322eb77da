"""Reading the skull's sections in the views, then building the skull from them.

A view shows one section through the head: where its plane cuts the skull (the bright
echo ring) and the cranial cavity inside it. That reading is local, so it carries to
head shapes never trained on; turning three sections into a skull is geometry. So a
view is read in two steps:

1. **the section** (:class:`SectionReader`, one 2D U-Net per view): the probability
   that each 2 mm pixel of the view's plane is skull bone, and that it is cranial
   cavity (brain and the landmarks inside it), at half the view's resolution (64 px
   for a 128 px view: the grid's voxel size). Trained against the true sections, the
   label volume sampled on the plane the view was simulated at (:func:`true_sections`;
   ``section_weight`` in the model's config), beside the skull loss.
2. **the skull from the sections** (:class:`SectionViews`): each section's
   probabilities, their 2 x 2 pixel blocks moved into channels (the 2 mm detail kept
   at 4 mm), lifted along the view's nominal orientation (:func:`.lifting.lift`; the
   pose is never an input, its jitter is learnt) into a 32^3 grid, the three views
   side by side (concatenated: a bone pixel of the axial view means another thing
   than one of the sagittal view) with a presence channel each; a 3D encoder halves
   the grid down to 1/16 and its maps at 1/2, 1/4 and 1/8 are the skips of the
   lifted decoder (:class:`.lifting.LiftedDecoder`), a 2D-to-3D U-Net.

Measured before the design was chosen (docs/research-log.md, session 22): a 3D net
given the *true* sections of the training families' views, lifted this way, builds
the held-out family's skulls to an aligned Dice of ... [filled in by the run].
"""

from __future__ import annotations

import torch
from torch import nn

from ..sim import labels as L
from ..sim.geometry import VIEW_NAMES
from .blocks import Conv3d, down_block, mlp
from .lifting import lift
from .side_by_side import SideBySideCache, grouped_conv, grouped_norm, side_by_side

N_VIEWS = len(VIEW_NAMES)
SECTION_CHANNELS = 2  #: bone, cranial cavity


def plane_grid(poses: torch.Tensor, view_px: int, side: int, shape, spacing_mm: float):
    """Sampling points of ``side`` x ``side`` over each view's field: poses ``(B, 10)``
    of ``view_px``-pixel views (origin, row axis, column axis in mm on the volume's
    axes, pixel size) -> ``(B, side, side, 3)`` in ``grid_sample``'s normalised (x, y,
    z) order for a volume of ``shape`` voxels of ``spacing_mm``."""
    n = torch.tensor(tuple(shape), dtype=poses.dtype, device=poses.device)
    k = torch.arange(side, dtype=poses.dtype, device=poses.device) - (side - 1) / 2
    origin, rows, cols = poses[:, 0:3], poses[:, 3:6], poses[:, 6:9]
    step = (poses[:, 9] * view_px / side).view(-1, 1, 1, 1)
    points = (
        origin[:, None, None]
        + (k[None, :, None, None] * step) * rows[:, None, None]
        + (k[None, None, :, None] * step) * cols[:, None, None]
    )
    return (points / spacing_mm / (n - 1) * 2 - 1).flip(-1)


def true_sections(
    labels: torch.Tensor, poses: torch.Tensor, view_px: int, side: int, spacing_mm: float
) -> torch.Tensor:
    """The bone and cavity of each view's plane: label volumes ``(B, D, H, W)`` on a
    grid of ``spacing_mm`` voxels and the poses ``(B, 3, 10)`` of ``view_px``-pixel
    views (origin, row axis, column axis in mm on the volume's axes, pixel size) ->
    ``(B, 3, 2, side, side)``, sampled (trilinearly) at ``side`` x ``side`` points
    over each view's field of view (128 px views of 1 mm at ``side`` 64: 2 mm)."""
    bone = labels == L.BONE
    cavity = (labels >= L.BRAIN) & (labels <= L.THALAMUS)
    volume = torch.stack([bone, cavity], 1).float()
    out = []
    for v in range(poses.shape[1]):
        grid = plane_grid(poses[:, v], view_px, side, labels.shape[1:], spacing_mm)[:, None]
        out.append(nn.functional.grid_sample(volume, grid, align_corners=True)[:, :, 0])
    return torch.stack(out, 1)


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


class SectionReader(nn.Module):
    """One view's 2D U-Net: ``(B, 1, 2s, 2s)`` view -> section logits ``(B, 2, s, s)``
    and a pooled feature vector (``features`` wide; None when 0). The encoder halves
    four times (``channels``); the decoder comes back to half the view's side with
    skips."""

    def __init__(self, channels: tuple[int, ...], features: int = 0):
        super().__init__()
        ins = (1, *channels[:-1])
        self.downs = nn.ModuleList(down_block(2, a, b) for a, b in zip(ins, channels))
        widths = channels[::-1]
        self.ups = nn.ModuleList(_up(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.mixes = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * b, b, 3, padding=1), nn.GroupNorm(min(8, b), b), nn.SiLU())
            for b in widths[1:]
        )
        self.to_sections = nn.Conv2d(channels[0], SECTION_CHANNELS, 1)
        self.head = nn.Linear(channels[-1], features) if features else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        vector = None if self.head is None else self.head(x.mean((2, 3)))
        for up, mix, skip in zip(self.ups, self.mixes, reversed(skips[:-1])):
            x = mix(torch.cat([up(x), skip], 1))
        return self.to_sections(x), vector


class ReadersSideBySide(nn.Module):
    """The three views' :class:`SectionReader` as one U-Net of grouped convolutions
    (:mod:`.side_by_side`; weights copied, frozen): ``(B, 3, 2s, 2s)`` views ->
    ``((B, 3, 2, s, s)`` logits, ``(B, 3, F)`` feature vectors or None). The same numbers
    as the three readers in turn (float32 rounding) in less time: at inference these
    small convolutions cost little more than their calls."""

    def __init__(self, readers):
        super().__init__()
        n = len(readers)
        self.n = n
        self.downs = side_by_side([r.downs for r in readers])
        self.ups = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                grouped_conv([r.ups[k][1] for r in readers]),
                grouped_norm([r.ups[k][2] for r in readers]),
                nn.SiLU(),
            )
            for k in range(len(readers[0].ups))
        )
        self.mixes = side_by_side([r.mixes for r in readers])
        self.to_sections = grouped_conv([r.to_sections for r in readers])
        self.heads = None if readers[0].head is None else nn.ModuleList(r.head for r in readers)
        self.requires_grad_(False).eval()

    def forward(self, views: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, n = views.shape[0], self.n
        x = (views * 2.0 - 1.0).contiguous(memory_format=torch.channels_last)
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        vectors = None
        if self.heads is not None:
            pooled = x.mean((2, 3)).view(b, n, -1)
            vectors = torch.stack([h(pooled[:, k]) for k, h in enumerate(self.heads)], 1)
        for up, mix, skip in zip(self.ups, self.mixes, reversed(skips[:-1])):
            u = up(x)
            # each reader's channels side by side: [up_i, skip_i] for reader i
            both = torch.cat([u.unflatten(1, (n, -1)), skip.unflatten(1, (n, -1))], 2)
            x = mix(both.flatten(1, 2).contiguous(memory_format=torch.channels_last))
        logits = self.to_sections(x)
        return logits.unflatten(1, (n, SECTION_CHANNELS)), vectors


def _block3d(c_in: int, c_out: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    k = 4 if stride == 2 else k
    return nn.Sequential(
        Conv3d(c_in, c_out, k, stride=stride, padding=1 if k > 1 else 0),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.SiLU(),
    )


class SectionViews(nn.Module):
    """``(views, mask) -> condition``: ``grids`` (the 3D encoder's maps at 1/8, 1/4,
    1/2 of the grid, coarsest first, each with the views' presence), ``sections``
    (B, 3, 2, g, g) logits, ``mask`` (B, 3) and, with ``out`` (a model whose decoder
    starts from these views alone), ``pooled`` (B, out) from a fourth stage at 1/16
    and ``views`` (B, 3, F). Without ``out`` every stage of ``trunk`` (from 1/2 of the
    grid down) is a skip of a pooled model's decoder (:mod:`.adapter`)."""

    def __init__(
        self,
        grid: int,
        reader_channels: tuple[int, ...],
        trunk: tuple[int, ...],
        features: int,
        out: int | None = None,
    ):
        super().__init__()
        if out and len(trunk) != 4:
            raise ValueError("the section trunk needs widths at 1/2, 1/4, 1/8 and 1/16 of the grid")
        self.readers = nn.ModuleList(
            SectionReader(reader_channels, features if out else 0) for _ in VIEW_NAMES
        )
        self._side_by_side = SideBySideCache(size=2)  #: not saved: a frozen copy for inference
        lifted = N_VIEWS * SECTION_CHANNELS * 4 + N_VIEWS
        self.stages = nn.ModuleList(
            [_block3d(lifted, trunk[0], k=1)]  # the views met voxel by voxel: cheap at 32^3
            + [
                nn.Sequential(_block3d(a, b, stride=2), _block3d(b, b))
                for a, b in zip(trunk[:-1], trunk[1:])
            ]
        )
        if out:
            side = grid // 16  # the bottleneck's side
            self.bottleneck = nn.Linear(trunk[-1] * side**3, out)
            self.mix = mlp((out + N_VIEWS * features + N_VIEWS, out, out))

    def read(self, views: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Each view's ``(section logits, feature vector or None)``: reader by reader
        while training (or with gradients), else the readers side by side
        (:class:`ReadersSideBySide`, made once and rebuilt when the weights change)."""
        if self.training or torch.is_grad_enabled():
            return [
                reader(views[:, k : k + 1] * 2.0 - 1.0) for k, reader in enumerate(self.readers)
            ]
        grouped = self._side_by_side.get(list(self.readers), views.device, ReadersSideBySide)
        logits, vectors = grouped(views)
        return [(logits[:, k], None if vectors is None else vectors[:, k]) for k in range(N_VIEWS)]

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> dict:
        m = mask.to(views.dtype)
        b = views.shape[0]
        read = self.read(views)
        sections, vectors, lifted = [], [], []
        for k, (name, (logits, vector)) in enumerate(zip(VIEW_NAMES, read)):
            sections.append(logits)
            if vector is not None:
                vectors.append(vector * m[:, k : k + 1])
            blocks = nn.functional.pixel_unshuffle(torch.sigmoid(logits), 2)
            lifted.append(lift(blocks, name) * m[:, k].view(-1, 1, 1, 1, 1))
        g = lifted[0].shape[-1]
        presence = m.view(b, N_VIEWS, 1, 1, 1).expand(-1, -1, g, g, g)
        x = torch.cat([*lifted, presence], 1)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        out = {"mask": m, "sections": torch.stack(sections, 1)}
        if hasattr(self, "bottleneck"):
            feats = torch.stack(vectors, 1)
            out["views"] = feats
            pooled = [self.bottleneck(x.flatten(1)), feats.flatten(1), m]
            out["pooled"] = self.mix(torch.cat(pooled, 1))
            maps = maps[:-1]
        out["grids"] = [
            torch.cat([h, m.view(b, N_VIEWS, 1, 1, 1).expand(-1, -1, *h.shape[2:])], 1)
            for h in reversed(maps)
        ]
        return out


def section_loss(condition: dict, batch: dict, spacing_mm: float) -> torch.Tensor:
    """Per-sample BCE of the predicted sections of the present views against the true
    ones (:func:`true_sections`); zero for a model that does not read sections."""
    logits = condition.get("sections") if isinstance(condition, dict) else None
    if logits is None:
        return batch["views"].new_zeros(batch["views"].shape[0])
    if "poses" not in batch or "labels" not in batch:
        raise ValueError("a model that reads sections learns them from 'labels' and 'poses'")
    views = batch["views"].shape[-1]
    target = true_sections(batch["labels"], batch["poses"], views, logits.shape[-1], spacing_mm)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    per_view = bce.flatten(2).mean(2)  # (B, 3)
    m = condition["mask"]
    return (per_view * m).sum(1) / m.sum(1).clamp(min=1.0)
