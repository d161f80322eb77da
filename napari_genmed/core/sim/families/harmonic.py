"""Shape family "harmonic": a vault whose log-radius is an egg plus random real
spherical harmonics of degree 2-5.

    R(u) = E(u) exp( sum_{l=2..5} sum_{m=-l..l} c_lm Y_lm(u) ),   c_lm ~ N(0, (0.06 / l)^2)

``E`` is an egg with the drawn BPD and OFD (occiput 0-8 % fuller than the forehead),
a vertex 0.80-1.05 of the mean in-plane semi-axis and a base 0.70-0.85 of the vertex.
Low degrees bend the whole vault, higher ones make bosses and flat patches. The
outline is then scaled to the drawn HC and centred in the canonical frame. Skull base
cut open below 65-85 % of its depth, tilted by up to 0.15.
"""

from __future__ import annotations

import numpy as np
from scipy.special import sph_harm_y

from ..vault import Sutures, Vault, centred, scaled, true_biometry
from .sizes import draw_sizes, ellipsoid_radius, tissues, unit

DEGREES = (2, 3, 4, 5)
SCALE = 0.06  #: sd of a degree-l coefficient is SCALE / l


def _table(coefficients: dict, n_theta: int = 91, n_phi: int = 181) -> np.ndarray:
    """The harmonic sum on a (polar angle, azimuth) grid, 2 degrees a step: evaluating
    scipy's harmonics at every voxel of every lattice would cost seconds a head."""
    theta = np.linspace(0.0, np.pi, n_theta)[:, None]
    phi = np.linspace(-np.pi, np.pi, n_phi)[None, :]
    out = np.zeros((n_theta, n_phi))
    for (deg, m), c in coefficients.items():
        y = sph_harm_y(deg, abs(m), theta, phi)
        out += c * (np.sqrt(2) * (y.real if m > 0 else y.imag) if m else y.real)
    return out


def _lookup(table: np.ndarray, uz, uy, ux) -> np.ndarray:
    from scipy import ndimage

    n_theta, n_phi = table.shape
    t = np.arccos(np.clip(uz, -1.0, 1.0)) / np.pi * (n_theta - 1)
    f = (np.arctan2(uy, ux) + np.pi) / (2 * np.pi) * (n_phi - 1)
    t, f = np.broadcast_arrays(t, f)
    out = ndimage.map_coordinates(table, [t.ravel(), f.ravel()], order=1, mode="nearest")
    return out.reshape(t.shape)


def draw(ga_weeks: float, rng: np.random.Generator) -> Vault:
    sizes = draw_sizes(ga_weeks, rng)
    b, a = sizes.bpd / 2, sizes.ofd / 2
    asym = rng.uniform(0.0, 0.08)
    c_up = (a + b) / 2 * rng.uniform(0.80, 1.05)
    c_down = c_up * rng.uniform(0.70, 0.85)
    coefficients = {
        (d, m): float(rng.normal(0.0, SCALE / d)) for d in DEGREES for m in range(-d, d + 1)
    }
    table = _table(coefficients)
    axes = dict(b=b, a_front=a * (1 - asym), a_back=a * (1 + asym), c_up=c_up, c_down=c_down)

    def level(z, y, x):
        r, uz, uy, ux = unit(z, y, x)
        return r - ellipsoid_radius(uz, uy, ux, **axes) * np.exp(_lookup(table, uz, uy, ux))

    level = centred(scaled(level, sizes.hc / true_biometry(level, ga_weeks).hc_mm))
    thickness, scalp, suture = tissues(ga_weeks, rng)
    sutures = Sutures(
        coronal=(rng.uniform(0.35, 0.55), rng.uniform(0.05, 0.30)),
        lambdoid=(rng.uniform(0.45, 0.65), rng.uniform(0.25, 0.55)),
        squamosal=rng.uniform(-0.35, -0.15),
        fontanelle_scale=rng.uniform(0.7, 1.4),
        base_z=-rng.uniform(0.65, 0.85),
        base_tilt=rng.uniform(-0.15, 0.15),
    )
    params = {
        "axes_mm": axes,
        "coefficients": {f"{d},{m}": c for (d, m), c in coefficients.items()},
    }
    return Vault("harmonic", float(ga_weeks), level, thickness, scalp, suture, sutures, params)
