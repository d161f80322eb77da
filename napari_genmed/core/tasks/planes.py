"""Planes through a 3D volume: where the standard planes are centred, and the 2D view
at any plane.

For a label volume (or a bare skull mask) the standard planes pass through the head
centre (:func:`~..sim.geometry.standard_centre` of the head inside its skin) and a
plane's view is the simulated ultrasound image; for an intensity volume (an MRI- or
CT-like image) they pass through the volume's centre and a plane's view is the
volume resampled on it (trilinear), its 1st-99.5th percentiles stretched to [0, 1].
"""

from __future__ import annotations

import numpy as np

from ..sim.geometry import Pose, sample_plane, standard_centre
from ..sim.labels import as_labels, head_mask
from ..sim.ultrasound import View, simulate_view


def plane_centre(volume: np.ndarray, spacing_mm: float, is_labels: bool) -> np.ndarray:
    """Where the standard planes of ``volume`` cross (mm, volume coordinates)."""
    data = np.asarray(volume)
    if data.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {data.shape}")
    if is_labels:
        return standard_centre(head_mask(as_labels(data, spacing_mm)), float(spacing_mm))
    return (np.array(data.shape) - 1) / 2 * float(spacing_mm)


def extract_plane(
    volume: np.ndarray,
    spacing_mm: float,
    pose: Pose,
    is_labels: bool,
    name: str = "",
    seed: int = 0,
) -> View:
    """The 2D view at ``pose`` through ``volume`` (see the module docstring)."""
    data = np.asarray(volume)
    if is_labels:
        return simulate_view(data, pose, spacing_mm=float(spacing_mm), seed=seed, name=name)
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise ValueError("the volume holds NaN or infinite values")
    image = sample_plane(data, float(spacing_mm), pose)
    lo, hi = np.percentile(data, [1, 99.5])
    image = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
    return View(name=name, image=image, pose=pose, seed=seed)
