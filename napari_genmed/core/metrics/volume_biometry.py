"""Biometry of a reconstructed skull: BPD, OFD and HC from the axial cross-section.

The reconstruction lives in the canonical head frame of the model's grid (head
centre at voxel ``n // 2``, docs/design.md, Conventions), so the biometry plane is the axial slice
through the centre. A ring that does not go round (fragments, :data:`CLOSED_VAULT`) is refused;
otherwise the slice's skull ring is closed and filled, an ellipse is
fitted to the outer contour (scikit-image), and BPD / OFD are its diameters along x
/ y (outer to outer), HC its Ramanujan perimeter; the gestational age follows from
HC by Hadlock and by inverting INTERGROWTH-21st.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..sim import biometry as bio

CLOSED_VAULT = 0.85
"""Least share of directions (5-degree sectors round the ring's centre) in which the
axial skull ring has bone. Measured: the project's phantoms 0.94-1.00 (GA 18-38, the
open skull base and sutures included); decodes of the bundled CVAEs' prior, which fall
into fragments, 0.14-0.69; the bundled HiREC from the sample's views 1.00."""


def ring_coverage(ring: np.ndarray, filled: np.ndarray, sectors: int = 72) -> float:
    """The share of ``sectors`` angular sectors round the centre of ``filled`` (the
    ring's hull) that hold a pixel of ``ring``."""
    cy, cx = np.argwhere(filled).mean(0)
    yy, xx = np.nonzero(ring)
    counts = np.histogram(np.arctan2(yy - cy, xx - cx), bins=sectors, range=(-np.pi, np.pi))[0]
    return float((counts > 0).mean())


def measure(
    skull_probability: np.ndarray, spacing_mm: float, threshold: float = 0.5
) -> dict[str, float]:
    vol = np.asarray(skull_probability)
    if vol.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {vol.shape}")
    from skimage.measure import EllipseModel, find_contours
    from skimage.morphology import convex_hull_image

    z = vol.shape[0] // 2
    ring = np.any(vol[max(z - 1, 0) : z + 2] > threshold, axis=0)
    labels, n = ndimage.label(ring, structure=np.ones((3, 3)))
    if n == 0:
        raise ValueError("no skull in the axial plane of the reconstruction")
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.isin(labels, np.flatnonzero(sizes >= 0.05 * sizes.max()) + 1)
    # the hull through the pixel centres closes the suture gaps of the skull ring; one
    # through their outer corners (scikit-image's default) would add half a pixel all
    # round: +1.2 mm BPD, +3.6 mm HC on true phantom skulls at 2 mm
    filled = convex_hull_image(keep, offset_coordinates=False)
    closed = ring_coverage(keep, filled)
    if closed < CLOSED_VAULT:  # the hull would close fragments into a fake head
        raise ValueError(
            f"not a closed vault: the skull in the axial plane goes only {100 * closed:.0f}% "
            f"of the way round (a skull: >= {100 * CLOSED_VAULT:.0f}%), no biometry"
        )
    contours = find_contours(np.pad(filled, 1).astype(float), 0.5)
    if not contours:  # a ring of collinear pixels has an empty hull
        raise ValueError("could not fit an ellipse to the axial cross-section (no closed outline)")
    contour = max(contours, key=len) - 1.0
    pts = contour * spacing_mm  # (row=y, col=x) in mm
    try:
        model = EllipseModel.from_estimate(pts[:, ::-1]) if len(pts) >= 6 else None  # (x, y)
    except (TypeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        model = (
            None  # some scikit-image versions fail, not flag, on a degenerate fit (complex angle)
        )
    if not model or not np.all(np.isfinite(model.axis_lengths)):
        raise ValueError("could not fit an ellipse to the axial cross-section")
    a, b = model.axis_lengths
    theta = model.theta
    # diameters along x and y of the fitted ellipse
    dx = 2 * np.sqrt((a * np.cos(theta)) ** 2 + (b * np.sin(theta)) ** 2)
    dy = 2 * np.sqrt((a * np.sin(theta)) ** 2 + (b * np.cos(theta)) ** 2)
    hc = float(bio.ramanujan_perimeter(2 * a, 2 * b))
    return {
        "bpd_mm": float(dx),
        "ofd_mm": float(dy),
        "hc_mm": hc,
        "ga_hadlock_weeks": float(bio.ga_from_hc_hadlock(hc)),
        "ga_intergrowth_weeks": float(bio.ga_from_hc_intergrowth(hc)),
    }
