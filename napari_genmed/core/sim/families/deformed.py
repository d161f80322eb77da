"""Shape family "deformed" (held out: for evaluation only, never trained on): a
superellipsoid vault bent by a free-form deformation.

The base is the superellipsoid ``(|z/c|^p + |y/a|^p + |x/b|^p)^(1/p) = 1`` with an
exponent p in 2.0-2.8 (boxier than an egg as p grows) and the drawn BPD and OFD. A
free-form deformation (Sederberg and Parry, SIGGRAPH 1986) moves every point by a
tensor product of cubic Bernstein polynomials over a 4 x 4 x 4 lattice of control
displacements, each normal with sd 5 % of the head's mean radius:

    x = q + sum_ijk B_i(s) B_j(t) B_k(w) P_ijk,   (s, t, w) = q scaled to [0, 1] over the lattice

The level function at x inverts that map by fixed-point iteration (q <- x - D(q); the
deformation is small, so it contracts), D tabulated on a 25^3 grid and interpolated.
The outline is scaled to the drawn HC and centred in the canonical frame; the skull
base is cut open below 55-80 % of its depth with a tilt of up to 0.2, and the
fontanelles range wider than in the training families (0.6-1.6).
"""

from __future__ import annotations

import numpy as np
from scipy.special import comb

from ..vault import Sutures, Vault, centred, scaled, true_biometry
from .sizes import draw_sizes, tissues

LATTICE = 4  #: control points per axis
SD = 0.05  #: control displacement sd, a share of the mean radius


def _bernstein(t):
    t = np.clip(t, 0.0, 1.0)
    return [comb(LATTICE - 1, i) * t**i * (1 - t) ** (LATTICE - 1 - i) for i in range(LATTICE)]


def draw(ga_weeks: float, rng: np.random.Generator) -> Vault:
    sizes = draw_sizes(ga_weeks, rng)
    b, a = sizes.bpd / 2, sizes.ofd / 2
    c = (a + b) / 2 * rng.uniform(0.82, 1.02)
    p = rng.uniform(2.0, 2.8)
    mean = (a + b + c) / 3
    half = 1.4 * max(a, b, c)  # the lattice box: +-half around the centre
    control = rng.normal(0.0, SD * mean, (LATTICE, LATTICE, LATTICE, 3))
    z_shift = -0.15 * c  # the base is a little above a full superellipsoid's bottom

    # the (cubic, smooth) deformation tabulated on a 25^3 grid over the lattice box and
    # interpolated: evaluating the 64-term product at every point of every lattice
    # would cost seconds a head
    axis = np.linspace(-half, half, 25)
    bz, by, bx = (np.stack(_bernstein((axis + half) / (2 * half))) for _ in range(3))
    field = np.einsum("iz,jy,kx,ijkd->dzyx", bz, by, bx, control)

    def displacement(qz, qy, qx):
        from scipy import ndimage

        qz, qy, qx = np.broadcast_arrays(qz, qy, qx)
        idx = [(q.ravel() + half) / (2 * half) * (len(axis) - 1) for q in (qz, qy, qx)]
        return [
            ndimage.map_coordinates(f, idx, order=1, mode="nearest").reshape(qz.shape)
            for f in field
        ]

    def level(z, y, x):
        qz, qy, qx = z, y, x
        for _ in range(4):
            dz, dy, dx = displacement(qz, qy, qx)
            qz, qy, qx = z - dz, y - dy, x - dx
        zz = np.where(qz >= z_shift, (qz - z_shift) / c, (qz - z_shift) / (0.8 * c))
        g = (np.abs(zz) ** p + np.abs(qy / a) ** p + np.abs(qx / b) ** p) ** (1.0 / p)
        return (g - 1.0) * mean

    level = centred(scaled(level, sizes.hc / true_biometry(level, ga_weeks).hc_mm))
    thickness, scalp, suture = tissues(ga_weeks, rng)
    sutures = Sutures(
        coronal=(rng.uniform(0.30, 0.58), rng.uniform(0.0, 0.35)),
        lambdoid=(rng.uniform(0.40, 0.70), rng.uniform(0.20, 0.60)),
        squamosal=rng.uniform(-0.40, -0.10),
        fontanelle_scale=rng.uniform(0.6, 1.6),
        base_z=-rng.uniform(0.55, 0.80),
        base_tilt=rng.uniform(-0.2, 0.2),
    )
    params = {"exponent": p, "lattice_sd_mm": SD * mean, "semi_axes_mm": [c, a, b]}
    return Vault("deformed", float(ga_weeks), level, thickness, scalp, suture, sutures, params)
