"""A bare skull mask as a label volume, so that its views look like a labelled head's.

A boolean mask holds the bone only: sutures, fontanelles and the open skull base
(foramen magnum and the cut below the vault) are gaps, so closing and hole filling
cannot find its inside. Here the vault is closed by the mask's convex hull (a fetal
vault is convex to within its sutures), and then:

- hull voxels within one skull thickness of the hull's surface that are not bone are
  the membranes of the gaps (sutures, fontanelles);
- the rest of the hull's inside is brain, with the standard planes' landmarks (falx,
  cavum septi pellucidi, ventricles with choroid plexus, thalami: :mod:`.brain`)
  placed from the head's own extents around its canonical centre (:mod:`.frame`) and
  an age read off its size (Hadlock, from the ellipse of its BPD and OFD);
- a layer of scalp covers the hull, as thick as the phantom family's at that age.

What is not in a mask (the true landmarks' positions, the scalp's thickness) is the
phantom family's typical value, so a mask's views are those of a typical head of its
outline.
"""

from __future__ import annotations

import numpy as np

from . import biometry as bio
from . import labels as L
from .frame import canonical_centre, centred_coords


def _extent(line: np.ndarray, centre: int) -> tuple[int, int]:
    """Voxels from ``centre`` to the last True voxel of ``line`` towards each end."""
    idx = np.flatnonzero(line)
    if idx.size == 0:
        return 0, 0
    return max(centre - int(idx[0]), 0), max(int(idx[-1]) - centre, 0)


def fill_mask(mask: np.ndarray, spacing_mm: float = 2.0) -> np.ndarray:
    """The uint8 label volume of a boolean skull mask (see the module docstring)."""
    from scipy import ndimage
    from skimage.morphology import convex_hull_image

    from .brain import HeadAxes, add_landmarks

    skull = np.asarray(mask, bool)
    out = np.full(skull.shape, L.FLUID, np.uint8)
    if skull.sum() < 4:  # nothing to close: a mask with (almost) no bone is fluid
        out[skull] = L.BONE
        return out
    h = float(spacing_mm)
    hull = convex_hull_image(skull)
    inside = hull & ~skull
    thickness_vox = max(2.0 * float(np.median(ndimage.distance_transform_edt(skull)[skull])), 1.0)
    depth = ndimage.distance_transform_edt(hull)
    out[inside] = L.BRAIN
    out[inside & (depth <= thickness_vox)] = L.MEMBRANE
    out[skull] = L.BONE
    brain = out == L.BRAIN
    if not brain.any():
        return out
    # on a voxel centre, as the phantom's origin is (the falx is a one-voxel sheet there)
    c = np.clip(np.round(canonical_centre(hull, h) / h).astype(int), 0, np.array(skull.shape) - 1)
    centre_mm = c * h
    down, up = _extent(hull[:, c[1], c[2]], c[0])
    back, front = _extent(hull[c[0], :, c[2]], c[1])
    left, right = _extent(hull[c[0], c[1], :], c[2])
    b = (left + right + 1) / 2 * h
    a_front, a_back = (front + 0.5) * h, (back + 0.5) * h
    hc = float(bio.ramanujan_perimeter(2 * b, a_front + a_back))
    ga = float(np.clip(bio.ga_from_hc_hadlock(hc), bio.GA_MIN, bio.GA_MAX))
    axes = HeadAxes(b, a_front, a_back, (up + 0.5) * h, (down + 0.5) * h, thickness_vox * h, ga)
    # the phantom family's scalp for that age: 1.5 mm at 16 weeks to 3.5 mm at 38
    scalp_mm = 1.5 + 2.0 * (ga - bio.GA_MIN) / (bio.GA_MAX - bio.GA_MIN)
    outside = ndimage.distance_transform_edt(~hull, sampling=h)
    out[(outside > 0) & (outside <= max(scalp_mm, 0.55 * h) + 0.5 * h)] = L.SCALP
    add_landmarks(out, axes, centred_coords(skull.shape, h, centre_mm), brain, h)
    return out
