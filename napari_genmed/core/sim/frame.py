"""The canonical head frame: where "head centred" puts any head, of any shape.

Axes (z, y, x): the vertex at +z, the forehead at +y, the biparietal axis along x.
The head's centre is defined from its outline alone (the head inside the outer skull
surface), so every shape generator can follow it and a reconstruction from
non-registered views has one frame to live in:

1. the *biometry plane* is the axial (constant-z) cross-section of the head with the
   largest area (ties, within 0.5 %, averaged): ``z0``;
2. in that section the *BPD chord* is the widest chord along x (the biparietal
   diameter is measured at the widest part of the head, across the midline): its
   height along y is ``y0`` (ties within half a voxel averaged);
3. ``x0`` is the midpoint of that chord.

The centre ``(z0, y0, x0)`` sits at voxel ``n // 2`` of each axis of the grid. The
procedural phantom (:mod:`.phantom`) meets this within a voxel by construction (its
ellipsoid's semi-axes meet at the origin, the widest section is z = 0 and the widest
chord y = 0); other generators compute the centre of their continuous outline with
:func:`canonical_centre_of` and shift the head there.
"""

from __future__ import annotations

import numpy as np


def canonical_centre(head: np.ndarray, spacing_mm: float) -> np.ndarray:
    """The canonical centre (mm, volume coordinates) of a boolean head mask."""
    head = np.asarray(head, bool)
    if head.ndim != 3:
        raise ValueError(f"expected a 3D head mask, got shape {head.shape}")
    if not head.any():
        raise ValueError("the head mask is empty: no centre")
    area = head.sum(axis=(1, 2))
    z0 = float(np.flatnonzero(area >= area.max() * 0.995).mean())
    section = head[int(round(z0))]
    rows = [np.flatnonzero(row) for row in section]
    width = np.array([r[-1] - r[0] + 1 if r.size else 0 for r in rows])
    widest = np.flatnonzero(width >= width.max() - 0.5)
    y0 = float(widest.mean())
    x0 = float(np.mean([(rows[y][0] + rows[y][-1]) / 2 for y in widest]))
    return np.array([z0, y0, x0]) * float(spacing_mm)


def grid_centre_mm(shape, spacing_mm: float) -> np.ndarray:
    """Where the canonical centre sits on a grid: voxel ``n // 2`` of each axis."""
    return np.array([(n // 2) * float(spacing_mm) for n in shape], float)


def centred_coords(grid_shape, spacing_mm: float, centre_mm) -> tuple[np.ndarray, ...]:
    """Broadcastable (z, y, x) mm coordinates of a grid's voxel centres relative to
    ``centre_mm``: the head coordinates shape generators draw in."""
    h = float(spacing_mm)
    return tuple(
        (np.arange(n, dtype=np.float32) * h - c).reshape([-1 if i == k else 1 for i in range(3)])
        for k, (n, c) in enumerate(zip(grid_shape, centre_mm))
    )


def canonical_centre_of(inside, extent_mm: float, step_mm: float = 1.0) -> np.ndarray:
    """The canonical centre (mm, in the generator's own coordinates) of a continuous
    head given as ``inside(z, y, x) -> bool`` over broadcastable mm coordinates,
    sampled on a ``step_mm`` lattice within ``+-extent_mm``: what a generator shifts
    by to put its head in the frame."""
    axis = np.arange(-extent_mm, extent_mm + step_mm / 2, step_mm)
    z, y, x = axis[:, None, None], axis[None, :, None], axis[None, None, :]
    head = np.asarray(inside(z, y, x), bool)
    return canonical_centre(head, step_mm) - extent_mm
