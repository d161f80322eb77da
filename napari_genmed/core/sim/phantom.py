"""Procedural fetal skull phantoms, reproducible from (seed, GA).

The head is a egg-shaped ellipsoid in head coordinates (mm, origin at the head
centre, axes ``(z, y, x)``: vertex at +z, forehead at +y, biparietal along x), with
semi-axes ``b`` (x, half the BPD), ``a_front``/``a_back`` (y, summing to the OFD) and
``c_up``/``c_down`` (z), and a smooth low-order shape noise ``n(u)`` on directions:

    rho(p) = rho_ellipsoid(p) / (1 + n(p / |p|)),      surface: rho = 1.

Sizes follow INTERGROWTH-21st (:mod:`.biometry`): BPD and OFD are drawn around the
mean for the GA with per-subject variation inside the published SD (a shared size
z-score and a cephalic-index z-score). The skull is a band under the outer surface,
of thickness 3-5 mm growing with GA, rasterised to at least two voxels across on the
default grid (docs/design.md, Conventions). The band is cut into bone plates by sutures and
fontanelles, laid out on the unit "ellipsoid sphere" ``e = (z/c, y/a, x/b) / rho``:
frontal (2, metopic suture between), parietal (2, sagittal suture), occipital
(behind the lambdoid suture), temporal squamae (below the squamosal sutures); the
anterior fontanelle (a diamond that grows until ~26 weeks), the posterior (a
triangle), and the sphenoid and mastoid fontanelles on each side.

The true biometry is measured on the analytic outer contour in the axial plane
through the head centre (z = 0): BPD and OFD its outer-to-outer extents, HC its
perimeter. Brain landmarks are added by :mod:`.brain`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from . import biometry as bio
from . import labels as L
from .frame import centred_coords, grid_centre_mm

# monomials of the shape noise: (power of uz, uy, ux, weight); odd powers of ux break
# left-right symmetry and are kept small
_NOISE_TERMS = (
    (2, 0, 0, 1.0),
    (0, 2, 0, 1.0),
    (0, 0, 2, 1.0),
    (1, 1, 0, 1.0),
    (0, 1, 2, 1.0),
    (1, 0, 2, 1.0),
    (0, 3, 0, 0.8),
    (3, 0, 0, 0.8),
    (1, 2, 0, 0.8),
    (2, 1, 0, 0.8),
    (0, 1, 1, 0.3),
    (1, 0, 1, 0.3),
    (0, 0, 1, 0.2),
)


#: the prior of what the head's outline in the axial plane does not fix: the vertex
#: semi-axis is ``VERTEX_SHARE`` of the mean in-plane semi-axis times a factor uniform
#: in ``VERTEX_FACTOR``; the skull base is ``BASE_RATIO`` (uniform) of the vertex; each
#: shape-noise coefficient is normal with sd ``NOISE_SD`` times its term's weight
VERTEX_SHARE, VERTEX_FACTOR, BASE_RATIO, NOISE_SD = 0.90, (0.94, 1.06), (0.72, 0.82), 0.012


def vertex_semi_axis(a: float, b: float, factor: float) -> float:
    """``c_up`` from the mean front/back semi-axis ``a``, the half BPD ``b`` and a
    factor drawn in ``VERTEX_FACTOR``."""
    return VERTEX_SHARE * (a + b) / 2 * factor


@dataclass(frozen=True)
class HeadShape:
    """Everything that defines one phantom head (mm unless stated)."""

    ga_weeks: float
    b: float  #: half the biparietal (x) diameter of the ellipsoid
    a_front: float  #: forehead semi-axis (+y)
    a_back: float  #: occiput semi-axis (-y)
    c_up: float  #: vertex semi-axis (+z)
    c_down: float  #: skull-base semi-axis (-z)
    thickness: float  #: skull band thickness, 3-5 mm growing with GA
    scalp: float  #: soft tissue over the skull
    suture: float  #: suture width
    noise: tuple[float, ...] = field(default=())  #: shape-noise coefficients, one per term

    @property
    def mean_radius(self) -> float:
        return (self.b + (self.a_front + self.a_back) / 2 + (self.c_up + self.c_down) / 2) / 3

    @property
    def fontanelle_growth(self) -> float:
        """0 at 16 weeks rising to 1 at 26 weeks (the anterior fontanelle's growth)."""
        return float(np.clip((self.ga_weeks - 16.0) / 10.0, 0.0, 1.0))


def sample_shape(ga_weeks: float, rng: np.random.Generator) -> HeadShape:
    """Draw a head for ``ga_weeks``: sizes within the INTERGROWTH SD, shape noise."""
    if not (bio.GA_MIN - 1e-9 <= ga_weeks <= bio.GA_MAX + 1e-9):
        raise ValueError(
            f"gestational age must lie in {bio.GA_MIN:g}-{bio.GA_MAX:g} weeks, got {ga_weeks}"
        )
    z_size = float(np.clip(rng.normal(0.0, 0.7), -2.0, 2.0))  # overall head size
    z_ci = float(np.clip(rng.normal(0.0, 0.6), -1.8, 1.8))  # cephalic index (round vs long)
    bpd = float(bio.bpd_mean(ga_weeks) + (z_size + 0.5 * z_ci) * bio.bpd_sd(ga_weeks))
    ofd = float(bio.ofd_mean(ga_weeks) + (z_size - 0.5 * z_ci) * bio.ofd_sd(ga_weeks))
    asym = rng.uniform(0.0, 0.06)  # occiput a little fuller than the forehead
    a = ofd / 2
    growth = (ga_weeks - bio.GA_MIN) / (bio.GA_MAX - bio.GA_MIN)
    c_up = vertex_semi_axis(a, bpd / 2, rng.uniform(*VERTEX_FACTOR))
    noise = tuple(float(rng.normal(0.0, NOISE_SD) * w) for *_, w in _NOISE_TERMS)
    return HeadShape(
        ga_weeks=float(ga_weeks),
        b=bpd / 2,
        a_front=a * (1 - asym),
        a_back=a * (1 + asym),
        c_up=float(c_up),
        c_down=float(c_up * rng.uniform(*BASE_RATIO)),
        thickness=3.0 + 2.0 * growth,
        scalp=1.5 + 2.0 * growth,
        suture=2.0 - 1.0 * growth,
        noise=noise,
    )


def _shape_noise(shape: HeadShape, uz, uy, ux):
    n = 0.0
    for (pz, py, px, _), coef in zip(_NOISE_TERMS, shape.noise):
        n = n + coef * uz**pz * uy**py * ux**px
    return n


def _ellipsoid_rho(shape: HeadShape, z, y, x):
    ay = np.where(y >= 0, shape.a_front, shape.a_back)
    az = np.where(z >= 0, shape.c_up, shape.c_down)
    return np.sqrt((z / az) ** 2 + (y / ay) ** 2 + (x / shape.b) ** 2)


def head_rho(shape: HeadShape, z, y, x):
    """Normalised radius: < 1 inside the outer skull surface, 1 on it."""
    r = np.sqrt(z * z + y * y + x * x) + 1e-9
    return _ellipsoid_rho(shape, z, y, x) / (1.0 + _shape_noise(shape, z / r, y / r, x / r))


def axial_contour(shape: HeadShape, n: int = 2048) -> np.ndarray:
    """The outer skull contour in the axial plane z = 0: ``(n, 2)`` points (y, x) mm."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    uy, ux = np.cos(t), np.sin(t)
    rho_unit = head_rho(shape, np.zeros_like(t), uy, ux)  # rho is 1-homogeneous in |p|
    radius = 1.0 / rho_unit
    return np.stack([uy * radius, ux * radius], axis=1)


def true_biometry(shape: HeadShape) -> bio.Biometry:
    pts = axial_contour(shape)
    perimeter = float(np.sum(np.linalg.norm(np.roll(pts, -1, axis=0) - pts, axis=1)))
    ofd = float(pts[:, 0].max() - pts[:, 0].min())
    bpd = float(pts[:, 1].max() - pts[:, 1].min())
    return bio.Biometry(bpd_mm=bpd, ofd_mm=ofd, hc_mm=perimeter, ga_weeks=shape.ga_weeks)


@dataclass
class Phantom:
    """A phantom head on a voxel grid (array axes z, y, x)."""

    labels: np.ndarray  #: uint8 label volume (values in :mod:`.labels`)
    spacing_mm: float
    biometry: bio.Biometry
    shape_params: HeadShape  #: or a Vault, for the shape families beyond the phantom
    seed: int
    family: str = "phantom"  #: the shape family that made it (:mod:`.families`)

    @property
    def skull(self) -> np.ndarray:
        return self.labels == L.BONE

    @property
    def centre_mm(self) -> np.ndarray:
        """Head centre in volume coordinates (mm): the centre voxel ``n // 2``."""
        return head_centre_mm(self.labels.shape, self.spacing_mm)

    def metadata(self) -> dict:
        return {
            "seed": self.seed,
            "spacing_mm": self.spacing_mm,
            "shape": list(self.labels.shape),
            "centre_mm": [float(c) for c in self.centre_mm],
            "biometry": self.biometry.to_dict(),
            "family": self.family,
            "head": self.shape_params.record()
            if hasattr(self.shape_params, "record")
            else asdict(self.shape_params),
        }


def head_centre_mm(shape, spacing_mm: float) -> np.ndarray:
    """Where the head's origin sits: the grid's canonical centre (:mod:`.frame`)."""
    return grid_centre_mm(shape, spacing_mm)


def _plate_layout(shape: HeadShape, ez, ey, ex, h: float):
    """Masks of sutures and fontanelles on band voxels given their ellipsoid-sphere
    directions ``e``. Widths are in mm, converted by the mean radius, and never
    thinner than one voxel so they survive rasterisation."""
    R = shape.mean_radius
    w = max(shape.suture, 1.05 * h) / 2 / R
    g = shape.fontanelle_growth
    s_c = ey + 0.0775 * ez - 0.519  # > 0: frontal bones (coronal suture at 0)
    s_l = -ey - 0.2577 * ez - 0.6454  # > 0: occipital bone (lambdoid suture at 0)
    ez_sq = -0.30 + 0.22 * np.cos(np.pi * np.clip(ey, -1.1, 1.1) / 1.1)  # squamosal arch
    lateral = np.abs(ex)
    between = (s_c < 0) & (s_l < 0)
    gap = (
        ((lateral < w) & (s_l < 0) & (ez > np.where(s_c > 0, -0.35, -0.25)))  # sagittal + metopic
        | ((np.abs(s_c) < w) & (ez > -0.32))  # coronal
        | ((np.abs(s_l) < w) & (ez > -0.40))  # lambdoid
        | ((np.abs(ez - ez_sq) < w) & (lateral > 0.45) & between)  # squamosal
    )
    # anterior fontanelle: a diamond at the coronal/sagittal junction
    af_len, af_wid = (6.0 + 6.0 * g) / R, (5.0 + 5.0 * g) / R
    gap |= (ez > 0) & (lateral / af_wid + np.abs(s_c) / af_len < 1.0)
    # posterior fontanelle: a triangle, base on the lambdoid, apex forward
    pf_len, pf_wid = (4.0 + 2.0 * g) / R, (3.0 + 2.0 * g) / R
    gap |= (ez > 0) & (s_l > -pf_len) & (s_l < w) & (lateral < pf_wid * (s_l + pf_len) / pf_len)
    # sphenoid (anterolateral) and mastoid (posterolateral) fontanelles
    lat_r = (3.5 + 1.0 * g) / R
    for cz, cy, cx in ((-0.30, 0.542, 0.785), (-0.37, -0.550, 0.749)):
        gap |= (ez - cz) ** 2 + (ey - cy) ** 2 + (lateral - cx) ** 2 < lat_r**2
    foramen = (ez < -0.86) & (ey < 0.25)  # foramen magnum
    return gap, foramen


def rasterise(shape: HeadShape, grid_shape=(64, 64, 64), spacing_mm: float = 2.0) -> np.ndarray:
    """Label volume of the skull, scalp and brain (landmarks added by :mod:`.brain`)."""
    from .brain import add_landmarks

    h = float(spacing_mm)
    z, y, x = centred_coords(grid_shape, h, head_centre_mm(grid_shape, h))
    rho = head_rho(shape, z, y, x).astype(np.float32)
    grad = np.gradient(rho, h)
    sdf = (rho - 1.0) / (np.sqrt(sum(g * g for g in grad)) + 1e-6)  # ~ signed mm, > 0 outside

    t_r = max(shape.thickness, 2.05 * h)  # at least two voxels across on any grid
    mid = -shape.thickness / 2
    outer, inner = mid + t_r / 2, mid - t_r / 2
    labels = np.full(grid_shape, L.FLUID, np.uint8)
    labels[(sdf > outer) & (sdf <= outer + max(shape.scalp, 0.55 * h))] = L.SCALP
    brain = sdf < inner
    labels[brain] = L.BRAIN
    band = (sdf >= inner) & (sdf <= outer)

    idx = np.nonzero(band)
    zb, yb, xb = (np.broadcast_to(v, grid_shape)[idx] for v in (z, y, x))
    rho_e = _ellipsoid_rho(shape, zb, yb, xb) + 1e-9
    ez = zb / np.where(zb >= 0, shape.c_up, shape.c_down) / rho_e
    ey = yb / np.where(yb >= 0, shape.a_front, shape.a_back) / rho_e
    ex = xb / shape.b / rho_e
    gap, foramen = _plate_layout(shape, ez, ey, ex, h)
    values = np.where(gap | foramen, L.MEMBRANE, L.BONE).astype(np.uint8)
    labels[idx] = values

    add_landmarks(labels, shape, (z, y, x), brain, h)
    return labels


def make_phantom(
    ga_weeks: float, seed: int, shape=(64, 64, 64), spacing_mm: float = 2.0
) -> Phantom:
    """A phantom at ``ga_weeks`` (16-38), reproducible from ``(seed, ga_weeks)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 8 or np.prod(shape) > 512**3:
        raise ValueError(f"grid shape must be three sizes between 8 and 512, got {shape}")
    if not (np.isfinite(spacing_mm) and spacing_mm > 0):
        raise ValueError(f"spacing_mm must be > 0, got {spacing_mm}")
    if not np.isfinite(ga_weeks):
        raise ValueError("gestational age must be finite")
    if not (
        bio.GA_MIN - 1e-9 <= ga_weeks <= bio.GA_MAX + 1e-9
    ):  # before the seed below (a huge GA overflows it)
        raise ValueError(
            f"gestational age must lie in {bio.GA_MIN:g}-{bio.GA_MAX:g} weeks, got {ga_weeks}"
        )
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(round(float(ga_weeks) * 1000))])
    head = sample_shape(float(ga_weeks), rng)
    labels = rasterise(head, shape, spacing_mm)
    return Phantom(
        labels=labels,
        spacing_mm=float(spacing_mm),
        biometry=true_biometry(head),
        shape_params=head,
        seed=int(seed),
    )
