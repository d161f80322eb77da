"""What the beam travels through: the acoustic property volumes of a label volume
(impedance, attenuation, backscatter: :data:`~.labels.ACOUSTIC`, sampled along the
scan lines by trilinear interpolation) and the maternal abdominal wall near the probe
(skin, fat and striated muscle, drawn per scan)."""

from __future__ import annotations

import numpy as np

from . import labels as L
from .geometry import standard_centre

PROPERTIES = ("impedance", "attenuation", "scatter")  #: per voxel, from the labels (labels.py)


class Medium:
    """Acoustic property volumes of a label volume, computed once per volume."""

    def __init__(self, labels_or_mask: np.ndarray, spacing_mm: float = 2.0):
        self.spacing_mm = _spacing(spacing_mm)
        self.labels = L.as_labels(labels_or_mask, spacing_mm)
        self._set({name: L.property_table(name)[self.labels] for name in PROPERTIES})

    @classmethod
    def expected(cls, probabilities: np.ndarray, spacing_mm: float = 2.0) -> Medium:
        """The expected medium of a label distribution: ``probabilities`` ``(C, ...)``
        over the label values ``0..C-1`` (summing to 1 over ``C``), each property the
        labels' own weighted by their probability, as a voxel that holds several
        tissues in those shares would be (a partial volume). Its ``labels`` are the
        most probable ones."""
        p = np.asarray(probabilities, np.float32)
        if p.ndim != 4 or not np.all(np.isfinite(p)):
            raise ValueError(f"label probabilities are finite (C, X, Y, Z), got shape {p.shape}")
        medium = cls.__new__(cls)
        medium.spacing_mm = _spacing(spacing_mm)
        medium.labels = p.argmax(0).astype(np.uint8)
        medium._set(
            {name: np.tensordot(L.property_table(name)[: len(p)], p, 1) for name in PROPERTIES}
        )
        return medium

    def _set(self, properties: dict[str, np.ndarray]) -> None:

        from scipy import ndimage  # imported here: importing the package stays quick

        self.impedance = properties["impedance"]
        self.attenuation = properties["attenuation"]
        self.scatter = properties["scatter"]
        smooth = ndimage.gaussian_filter(self.impedance, 0.7)
        self.gradient = np.stack(np.gradient(smooth), axis=0)  # interface normals

    def sample(self, points_mm: np.ndarray) -> dict[str, np.ndarray]:

        from scipy import ndimage  # imported here: importing the package stays quick

        idx = self._index(points_mm)
        fluid = L.ACOUSTIC[L.FLUID]

        def at(vol, cval):
            return ndimage.map_coordinates(
                vol, idx, order=1, mode="constant", cval=cval, prefilter=False
            )

        return {
            "impedance": at(self.impedance, fluid.impedance),
            "attenuation": at(self.attenuation, fluid.attenuation),
            "scatter": at(self.scatter, fluid.scatter),
            "gradient": np.stack([at(g, 0.0) for g in self.gradient], axis=-1),
        }

    def _index(self, points_mm: np.ndarray) -> np.ndarray:
        """The property volumes' fractional indices of points ``(..., 3)`` in mm."""
        return np.moveaxis(points_mm / self.spacing_mm, -1, 0)

    def standard_centre(self) -> np.ndarray:
        """Centre of the standard planes (mm), see :func:`~.geometry.standard_centre`."""
        return standard_centre(L.head_mask(self.labels), self.spacing_mm)


def _spacing(spacing_mm) -> float:
    if not (np.isfinite(spacing_mm) and spacing_mm > 0):
        raise ValueError(f"spacing_mm must be > 0, got {spacing_mm}")
    return float(spacing_mm)


def maternal_wall(depth_mm: np.ndarray, rng: np.random.Generator):
    """Impedance, attenuation and scatter of skin, fat and muscle near the probe
    (None where the wall has ended), drawn per scan."""
    total = rng.uniform(6.0, 14.0)
    skin, fat = 1.2, rng.uniform(0.25, 0.45) * total
    z = np.full(depth_mm.shape, np.nan, np.float32)
    a = np.zeros(depth_mm.shape, np.float32)
    s = np.zeros(depth_mm.shape, np.float32)
    layers = (
        (0.0, skin, 1.62, 0.5),
        (skin, skin + fat, 1.38, 0.12),
        (skin + fat, total, 1.70, 0.32),
    )
    for lo, hi, zi, si in layers:
        m = (depth_mm >= lo) & (depth_mm < hi)
        z[m], a[m], s[m] = zi, 0.7, si
    # muscle striations
    m = (depth_mm >= skin + fat) & (depth_mm < total)
    s[m] *= 1.0 + 0.8 * (np.sin(depth_mm[m] * rng.uniform(1.5, 2.5)) > 0.6)
    return z, a, s
