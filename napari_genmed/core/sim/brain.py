"""Intracranial landmarks of the standard planes, drawn into a phantom's brain.

What a sonographer looks for (docs/design.md, Facts): the midline echo of the falx, the cavum
septi pellucidi (a fluid box in the anterior third of the midline), the lateral
ventricles (frontal horns, bodies, atria with the echogenic choroid plexus,
occipital horns) and the thalami. Positions are fractions of the inner skull's
semi-axes so that they scale with the head; absolute sizes (atrial width ~7 mm,
CSP width 3-6 mm) follow their near-constancy across gestation. The axial plane
through the head centre (z = 0) is the transventricular plane: it cuts the frontal
horns, the CSP, the atria with choroid plexus and the midline.
"""

from __future__ import annotations

import numpy as np

from . import labels as L

# ventricle centre line per side: (z, y, x) as fractions of the inner semi-axes, radius mm
_VENTRICLE_PATH = (
    ((0.04, 0.46, 0.12), 1.8),  # frontal horn tip
    ((0.08, 0.18, 0.16), 2.4),  # body, front
    ((0.07, -0.20, 0.24), 2.8),  # body, back
    ((0.02, -0.44, 0.30), 3.8),  # atrium
    ((0.00, -0.64, 0.23), 1.8),  # occipital horn tip
)
_VENTRICLE_TALL = 0.6  # ventricles are taller than wide: z distances count 0.6x


class HeadAxes:
    """What :func:`add_landmarks` reads of a head of any shape family: its outer
    semi-axes from the canonical centre (mm; b along x, a_front / a_back along +-y,
    c_up / c_down along +-z), its skull thickness, and the fontanelles' growth (0 at 16
    weeks, 1 from 26) for its age."""

    def __init__(self, b, a_front, a_back, c_up, c_down, thickness, ga_weeks):
        self.b, self.a_front, self.a_back = float(b), float(a_front), float(a_back)
        self.c_up, self.c_down, self.thickness = float(c_up), float(c_down), float(thickness)
        self.fontanelle_growth = float(np.clip((ga_weeks - 16.0) / 10.0, 0.0, 1.0))


def _inner_axes(shape, thickness):
    t = thickness
    return dict(
        b=shape.b - t,
        af=shape.a_front - t,
        ab=shape.a_back - t,
        cu=shape.c_up - t,
        cd=shape.c_down - t,
    )


def _to_mm(frac, ax) -> np.ndarray:
    fz, fy, fx = frac
    return np.array(
        [
            fz * (ax["cu"] if fz >= 0 else ax["cd"]),
            fy * (ax["af"] if fy >= 0 else ax["ab"]),
            fx * ax["b"],
        ]
    )


def _box(coords, lo, hi, h):
    """Index slices of the grid that cover the mm box ``lo..hi`` and its sub-coords."""
    sl = []
    for c, a, b in zip(coords, lo, hi):
        v = c.reshape(-1)
        i0 = int(np.searchsorted(v, a - h))
        i1 = int(np.searchsorted(v, b + h))
        sl.append(slice(max(i0, 0), min(max(i1, i0 + 1), v.size)))
    sub = tuple(
        c[tuple(s if i == k else slice(None) for i in range(3))]
        for k, (c, s) in enumerate(zip(coords, sl))
    )
    return tuple(sl), sub


def _paint(labels, region, sl, value, where):
    view = labels[sl]
    view[region & where[sl]] = value


def _ellipsoid(labels, coords, centre, radii, value, where, h):
    c, r = np.asarray(centre), np.asarray(radii)
    sl, (z, y, x) = _box(coords, c - r, c + r, h)
    region = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1.0
    _paint(labels, region, sl, value, where)


def _capsule_path(labels, coords, points, radii, value, where, h):
    pts = np.asarray(points)
    rmax = max(radii) / _VENTRICLE_TALL
    sl, (z, y, x) = _box(coords, pts.min(0) - rmax, pts.max(0) + rmax, h)
    region = np.zeros(np.broadcast_shapes(z.shape, y.shape, x.shape), bool)
    for p0, p1, r0, r1 in zip(pts[:-1], pts[1:], radii[:-1], radii[1:]):
        d = p1 - p0
        t = ((z - p0[0]) * d[0] + (y - p0[1]) * d[1] + (x - p0[2]) * d[2]) / float(d @ d)
        t = np.clip(t, 0.0, 1.0)
        dz = (z - p0[0] - t * d[0]) * _VENTRICLE_TALL
        dy, dx = y - p0[1] - t * d[1], x - p0[2] - t * d[2]
        region |= dz * dz + dy * dy + dx * dx <= (r0 + t * (r1 - r0)) ** 2
    _paint(labels, region, sl, value, where)


def add_landmarks(labels: np.ndarray, shape, coords, brain: np.ndarray, h: float) -> None:
    """Draw falx, thalami, ventricles, choroid plexus and CSP into ``labels`` (in
    place), only inside ``brain``. ``coords`` are the broadcastable head-centred
    (z, y, x) mm coordinates of the grid."""
    ax = _inner_axes(shape, shape.thickness)
    g = shape.fontanelle_growth  # 0..1 growth between 16 and 26 weeks
    z, y, x = coords

    # midline falx: one voxel sheet above the thalami
    falx_half = max(0.5 * h, 0.75)
    sl, (zs, ys, xs) = _box(
        coords, (-0.15 * ax["cd"], -ax["ab"], -falx_half), (ax["cu"], ax["af"], falx_half), h
    )
    _paint(
        labels,
        (np.abs(xs) < falx_half)
        & (zs > -0.15 * ax["cd"])
        & (np.abs(ys) < 0.9 * max(ax["af"], ax["ab"])),
        sl,
        L.FALX,
        brain,
    )

    for side in (-1.0, 1.0):
        _ellipsoid(
            labels,
            coords,
            _to_mm((-0.14, -0.06, 0.11 * side), ax),
            (0.15 * ax["cd"], 0.17 * ax["ab"], 0.10 * ax["b"]),
            L.THALAMUS,
            brain,
            h,
        )
        pts = [_to_mm((fz, fy, fx * side), ax) for (fz, fy, fx), _ in _VENTRICLE_PATH]
        radii = [r * (0.85 + 0.15 * g) for _, r in _VENTRICLE_PATH]
        _capsule_path(labels, coords, pts, radii, L.VENTRICLE, brain, h)
        atrium = pts[3]
        ventricle = labels == L.VENTRICLE
        _ellipsoid(
            labels,
            coords,
            atrium + np.array([0.0, 1.0, 0.0]),
            (4.5, 6.5, 2.6),
            L.CHOROID,
            ventricle,
            h,
        )

    csp_half_width = 1.5 + 1.5 * g
    _ellipsoid(
        labels,
        coords,
        _to_mm((0.05, 0.30, 0.0), ax),
        (5.0, 0.10 * ax["af"], csp_half_width + 0.5 * h),
        L.CSP,
        brain,
        h,
    )
