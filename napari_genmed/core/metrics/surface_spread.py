"""How far the skull surface moves between a reconstruction's samples, in mm.

For samples ``p_s = p + e_s`` of the skull probability around their mean ``p``, the
level set ``{p_s = t}`` sits, to first order, a distance ``delta_s = -e_s / |grad p|``
along the normal from the mean's, so over the samples

    std(delta) ~= std(p_s) / |grad p|        (mm, with grad p per mm).

Both fields are averaged over a Gaussian of ``sigma`` voxels before the division.
A skull shell two voxels thick has edges sharper than its 2 mm grid resolves, so any
field read at the surface's vertices (marching cubes puts each one on a voxel edge,
between two voxel centres, read trilinearly) depends on where along that edge the
vertex falls, and the surface shows the grid: the "lattice" once blamed on the
decoder's transposed convolutions. Measured on the bundled CVAEs (four phantoms,
16-32 samples): the position along the edge explains 46-51% of the vertex-to-vertex
variance of the raw std (an anatomical field, the distance from the head's centre,
1%), and still 40% of each sample's own level-set crossing along the normal; averaged
over 1.5 voxels (3 mm) 2-5%. The averaged ratio follows the measured crossings'
spread averaged over 3 mm with a correlation of 0.71-0.90 (:func:`edge_position_share`
is the measurement; research log, session 21).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIGMA_VOXELS = 1.5  #: 3 mm on the bundled 2 mm grid: the lattice at the control's level


def spread_mm(
    probability: np.ndarray, std: np.ndarray, spacing_mm: float, sigma: float = SIGMA_VOXELS
) -> np.ndarray:
    """The first-order std of the surface's position over the samples (mm) at every
    voxel, from the samples' mean ``probability`` and voxel-wise ``std``; meant to be
    read at the surface's vertices."""
    p = np.asarray(probability, np.float32)
    s = np.asarray(std, np.float32)
    if p.shape != s.shape or p.ndim != 3:
        raise ValueError(f"probability {p.shape} and std {s.shape} must be one 3D grid")
    steep = np.sqrt(sum(g * g for g in np.gradient(p, float(spacing_mm))))
    steep = ndimage.gaussian_filter(steep, sigma)
    spread = ndimage.gaussian_filter(s, sigma) / np.maximum(steep, 1e-3 / float(spacing_mm))
    return spread.astype(np.float32)


def at_vertices(volume: np.ndarray, verts_mm: np.ndarray, spacing_mm: float) -> np.ndarray:
    """``volume`` at each surface vertex (trilinear; vertices in mm, voxel k at k *
    spacing): the colours of a surface that shows a voxel map where the skull is."""
    coords = np.asarray(verts_mm, np.float64).T / float(spacing_mm)
    return ndimage.map_coordinates(
        np.asarray(volume, np.float32), coords, order=1, mode="nearest"
    ).astype(np.float32)


def summary_mm(result) -> dict | None:
    """Median and 95th percentile of a reconstruction's surface spread over its
    surface's vertices (mm), or None without samples or surface."""
    if result.spread_mm is None or result.surface is None:
        return None
    values = at_vertices(result.spread_mm, result.surface[0], result.spacing_mm)
    return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95))}


def edge_position_share(values: np.ndarray, verts_mm: np.ndarray, spacing_mm: float) -> float:
    """The share of the variance of per-vertex ``values`` that the vertices' position
    along their voxel edges explains beyond the edges' direction: how much of a colour
    on a marching-cubes surface is the grid (0: none). Quarters of the edge per axis."""
    v = np.asarray(values, np.float64)
    vox = np.asarray(verts_mm, np.float64) / float(spacing_mm)
    frac = vox - np.floor(vox)
    axis = np.argmax(np.abs(frac - np.rint(frac)) > 1e-4, axis=1)
    along = np.minimum((frac[np.arange(len(frac)), axis] * 4).astype(int), 3)
    return _explained(v, axis * 4 + along) - _explained(v, axis)


def _explained(v: np.ndarray, classes: np.ndarray) -> float:
    """Share of the variance of ``v`` explained by the class means."""
    n = np.bincount(classes)
    means = np.bincount(classes, weights=v) / np.maximum(n, 1)
    total = float(np.sum((v - v.mean()) ** 2))
    return float(np.sum(n * (means - v.mean()) ** 2) / total) if total > 0 else 0.0
