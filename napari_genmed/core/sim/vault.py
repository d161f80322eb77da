"""Heads of any shape family on a voxel grid: the rasteriser the families beyond the
phantom share (:mod:`.families`).

A family gives an outline as a level function ``f(z, y, x)`` in mm around the
canonical centre (negative inside the outer skull surface, zero on it; any scale:
``f / |grad f|`` is used as the signed distance) and the head's numbers: age, skull
thickness, scalp, suture width, fontanelle size, and where the skull base is cut.
The rasteriser lays the skull band under the outer surface (3-5 mm, at least two
voxels), cuts it into plates by sutures that follow the outline's directions
``u = p / |p|`` (metopic and sagittal along the midline, coronal and lambdoid as
tilted planes through the centre, squamosal arches), opens fontanelles where they
meet and everything below the base plane, covers the skull with scalp, fills the
inside with brain and draws the landmarks (:mod:`.brain`) from the outline's own
semi-axes. Its true biometry is measured on the outline's section z = 0 (the
canonical biometry plane).

This is written apart from the phantom's rasteriser (:mod:`.phantom`), with other
suture geometry and an open, planar skull base, so the families differ in more than
their outline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import biometry as bio
from . import labels as L
from .frame import canonical_centre_of, centred_coords, grid_centre_mm

Level = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Sutures:
    """Where the plates meet, in outline directions ``u`` (drawn per head)."""

    coronal: tuple[float, float] = (0.45, 0.15)  #: u_y cos(a) + u_z sin(a) = c: (c, a rad)
    lambdoid: tuple[float, float] = (0.55, 0.40)  #: -u_y cos(b) + u_z sin(b) = d: (d, b rad)
    squamosal: float = -0.25  #: u_z of the squamosal arch, at the sides
    fontanelle_scale: float = 1.0  #: anterior, posterior and lateral fontanelles' size
    base_z: float = -0.75  #: the skull base plane's height, as a share of c_down (below: open)
    base_tilt: float = 0.0  #: its slope along y (mm of height per mm forward)


@dataclass(frozen=True)
class Vault:
    """A head of one shape family, ready to rasterise (see the module docstring)."""

    family: str
    ga_weeks: float
    level: Level = field(repr=False, compare=False)
    thickness: float  #: skull band, mm
    scalp: float  #: mm
    suture: float  #: width, mm
    sutures: Sutures
    params: dict = field(default_factory=dict, compare=False)  #: the family's draws, for the record

    def record(self) -> dict:
        return {
            "family": self.family,
            "ga_weeks": self.ga_weeks,
            "thickness": self.thickness,
            "scalp": self.scalp,
            "suture": self.suture,
            **self.params,
        }


def ray_radius(level: Level, direction, far: float = 200.0, iterations: int = 40) -> np.ndarray:
    """Distance from the centre to the outer surface along unit ``direction`` rows
    ``(N, 3)`` (bisection on the level function; the outline is star-shaped)."""
    d = np.asarray(direction, float)
    lo, hi = np.zeros(len(d)), np.full(len(d), far)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        inside = level(*(d * mid[:, None]).T) < 0
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    return (lo + hi) / 2


def semi_axes(level: Level) -> dict[str, float]:
    """The outline's radii along +-x, +-y, +-z from the centre."""
    dirs = np.array([[0, 0, 1], [0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0]], float)
    r = ray_radius(level, dirs)
    return {"b": r[0], "a_front": r[1], "a_back": r[2], "c_up": r[3], "c_down": r[4]}


def true_biometry(level: Level, ga_weeks: float, n: int = 720) -> bio.Biometry:
    """BPD, OFD (outer to outer) and HC (perimeter) of the outline's section z = 0."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    dirs = np.stack([np.zeros_like(t), np.cos(t), np.sin(t)], 1)
    pts = dirs[:, 1:] * ray_radius(level, dirs)[:, None]
    hc = float(np.sum(np.linalg.norm(np.roll(pts, -1, 0) - pts, axis=1)))
    return bio.Biometry(float(np.ptp(pts[:, 1])), float(np.ptp(pts[:, 0])), hc, float(ga_weeks))


def centred(level: Level) -> Level:
    """``level`` shifted so that its canonical centre (:mod:`.frame`) is the origin
    (found on a 1 mm lattice just larger than the head)."""
    extent = 1.2 * max(semi_axes(level).values()) + 4.0
    c = canonical_centre_of(lambda z, y, x: level(z, y, x) < 0, extent, step_mm=1.0)

    def moved(z, y, x):
        return level(z + c[0], y + c[1], x + c[2])

    return moved


def scaled(level: Level, factor: float) -> Level:
    """``level`` with the head scaled by ``factor`` about the origin."""

    def bigger(z, y, x):
        return level(z / factor, y / factor, x / factor)

    return bigger


def _plates(v: Vault, uz, uy, ux, radius: float, h: float) -> np.ndarray:
    """Membrane (sutures and fontanelles) on band voxels of directions u."""
    s = v.sutures
    w = max(v.suture, 1.05 * h) / 2 / radius
    c, a = s.coronal
    d, b = s.lambdoid
    s_c = uy * np.cos(a) + uz * np.sin(a) - c  # > 0: frontal bones
    s_l = -uy * np.cos(b) + uz * np.sin(b) - d  # > 0: occipital bone
    lateral = np.abs(ux)
    top = uz > 0.05
    gap = (lateral < w) & (s_l < 0) & (uz > -0.2)  # metopic and sagittal
    gap |= (np.abs(s_c) < w) & (uz > -0.2)  # coronal
    gap |= (np.abs(s_l) < w) & (uz > -0.3)  # lambdoid
    gap |= (np.abs(uz - s.squamosal) < w) & (lateral > 0.5) & (s_c < 0) & (s_l < 0)  # squamosal
    f = s.fontanelle_scale * (0.6 + 0.4 * float(np.clip((v.ga_weeks - 16) / 10, 0, 1))) / radius
    gap |= top & (np.abs(s_c) / (9.0 * f) + lateral / (7.0 * f) < 1.0)  # anterior: a diamond
    gap |= top & (np.abs(s_l) / (5.0 * f) + lateral / (4.0 * f) < 1.0)  # posterior
    for sy in (0.55, -0.55):  # sphenoid and mastoid, on each side
        gap |= (uz + 0.3) ** 2 + (uy - sy) ** 2 + (lateral - 0.75) ** 2 < (4.0 * f) ** 2
    return gap


def rasterise_vault(v: Vault, grid_shape=(64, 64, 64), spacing_mm: float = 2.0) -> np.ndarray:
    """The label volume of ``v`` on a grid whose canonical centre is voxel ``n // 2``."""
    from .brain import HeadAxes, add_landmarks

    h = float(spacing_mm)
    z, y, x = centred_coords(grid_shape, h, grid_centre_mm(grid_shape, h))
    f = np.asarray(v.level(z, y, x), np.float32)
    grad = np.gradient(f, h)
    sdf = f / (np.sqrt(sum(g * g for g in grad)) + 1e-6)  # ~ signed mm, > 0 outside
    t_r = max(v.thickness, 2.05 * h)  # at least two voxels across on any grid
    mid = -v.thickness / 2
    outer, inner = mid + t_r / 2, mid - t_r / 2
    labels = np.full(grid_shape, L.FLUID, np.uint8)
    labels[(sdf > outer) & (sdf <= outer + max(v.scalp, 0.55 * h))] = L.SCALP
    brain = sdf < inner
    labels[brain] = L.BRAIN
    idx = np.nonzero((sdf >= inner) & (sdf <= outer))
    zb, yb, xb = (np.broadcast_to(c, grid_shape)[idx] for c in (z, y, x))
    r = np.sqrt(zb * zb + yb * yb + xb * xb) + 1e-9
    ax = semi_axes(v.level)
    radius = (ax["b"] + (ax["a_front"] + ax["a_back"]) / 2 + (ax["c_up"] + ax["c_down"]) / 2) / 3
    membrane = _plates(v, zb / r, yb / r, xb / r, radius, h)
    s = v.sutures  # below the skull base plane the band is open
    membrane |= zb < s.base_z * ax["c_down"] + s.base_tilt * yb
    labels[idx] = np.where(membrane, L.MEMBRANE, L.BONE).astype(np.uint8)
    axes = HeadAxes(
        ax["b"], ax["a_front"], ax["a_back"], ax["c_up"], ax["c_down"], v.thickness, v.ga_weeks
    )
    add_landmarks(labels, axes, (z, y, x), brain, h)
    return labels
