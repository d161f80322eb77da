"""Predictors of a missing plane that know nothing of the head (issue 26's references).

A generator earns its keep only where it beats these, rendered by the project's own
simulator at the query pose, speckle-free, as the truth is (128 x 128 at 1 mm, then
averaged to the generators' 64 x 64 grid of 2 mm):

- :func:`template_head`: one fixed phantom of the training family, GA 27 weeks (the
  middle of the range), seed :data:`TEMPLATE_SEED`: another head of another size, with
  a skull, midline and ventricles where that head has them;
- :func:`head_blob`: an ellipsoid of brain without bone or landmarks, of the true
  head's BPD and OFD (its height 0.8 BPD), at the canonical centre of the grid: the
  right size and place and nothing else.

The truth is a head's own speckle-free plane; the "reconstruct + simulate" route
(:func:`~..tasks.viewgen.baseline`) is the third reference, in the same table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

TEMPLATE_GA = 27.0  #: weeks: the middle of the training range (16-38)
TEMPLATE_SEED = 424242  #: not a test subject's seed (those start at the test split's base)
BLOB_HEIGHT = 0.8  #: the blob's height over its BPD (a vault's, roughly)


@lru_cache(maxsize=2)
def template_head(grid=(64, 64, 64), spacing_mm: float = 2.0) -> np.ndarray:
    """The template head's label volume (made once, read-only)."""
    from ..sim.phantom import make_phantom

    labels = make_phantom(TEMPLATE_GA, TEMPLATE_SEED, tuple(grid), spacing_mm).labels
    labels.flags.writeable = False
    return labels


def head_blob(
    bpd_mm: float, ofd_mm: float, grid=(64, 64, 64), spacing_mm: float = 2.0
) -> np.ndarray:
    """Labels: brain inside an ellipsoid of semi-axes (0.8 BPD, OFD, BPD) / 2 along
    (z, y, x), centred at voxel ``n // 2`` (the canonical frame), fluid elsewhere."""
    from ..sim.labels import BRAIN, FLUID

    if not (np.isfinite(bpd_mm) and np.isfinite(ofd_mm) and bpd_mm > 0 and ofd_mm > 0):
        raise ValueError(f"a blob needs a positive BPD and OFD, got {bpd_mm}, {ofd_mm}")
    axes = np.array([BLOB_HEIGHT * bpd_mm, ofd_mm, bpd_mm]) / 2.0
    zz, yy, xx = (
        (np.arange(n) - n // 2)[(...,) + (None,) * (2 - k)] * spacing_mm for k, n in enumerate(grid)
    )
    inside = (zz / axes[0]) ** 2 + (yy / axes[1]) ** 2 + (xx / axes[2]) ** 2 <= 1.0
    return np.where(inside, BRAIN, FLUID).astype(np.uint8)


def render_reference(labels: np.ndarray, coarse_pose, seed: int, spacing_mm: float = 2.0):
    """``labels`` rendered speckle-free at the plane of ``coarse_pose`` (a scene's
    64 x 64 pose of 2 mm pixels), as the scenes render their truth: at 128 x 128 and
    1 mm, averaged to 64 x 64."""
    from ..data.scenes import SIZE, downsample
    from ..sim.geometry import Pose
    from ..sim.ultrasound import simulate_view

    fine = Pose(
        coarse_pose.origin,
        coarse_pose.row_axis,
        coarse_pose.col_axis,
        coarse_pose.spacing_mm * SIZE / 128,
        (128, 128),
    )
    return downsample(simulate_view(labels, fine, spacing_mm, seed, speckle=False).image)
