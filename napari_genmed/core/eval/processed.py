"""A third scanner appearance for evaluation only: speckle as resolution cells, then
the post-processing a modern scanner applies before it shows the image.

The training renderer (:mod:`~..sim.ultrasound`) traces scan lines through acoustic
property volumes, :mod:`.appearance` convolves a reflectivity map with an analytic
point-spread function and :mod:`.beamformed` delays and sums simulated channel data.
This one has no wave and no point-spread function at all. It is the *statistical*
route (Shankar, "A general statistical model for ultrasonic backscattering from
tissues", IEEE TUFFC 2000; Wagner et al., "Statistics of speckle in ultrasound
B-scans", IEEE Trans. Sonics Ultrason. 1983), followed by a display chain like the
speckle-reduction and edge-enhancement modes scanners ship (e.g. anisotropic or
total-variation smoothing: Yu & Acton, "Speckle reducing anisotropic diffusion",
IEEE TIP 2002):

- **resolution cells on the scan lines' grid**: a curvilinear sector
  (:class:`ProcessedProbe`: its own radius, opening and cell sizes) is cut into cells
  of :attr:`~ProcessedProbe.cell_axial_mm` along each line and a beam width across
  that grows with depth; each cell's intensity is drawn from a gamma distribution
  (the square of a Nakagami envelope) of its tissue's mean echo (this module's own
  table, :data:`MEAN_ECHO`) and shape ``m`` (:data:`NAKAGAMI_M`: 1 is fully developed
  speckle, larger is more regular). Scan conversion interpolates the cells bilinearly
  to the pixels, so the grains are elongated across the beam and widen with depth;
- **the skull** echoes by incidence: each bone cell's mean is raised by the cosine
  between the line and the bone outline's normal (the surface facing the probe is
  brightest, the sides fade); the cells behind bone are shadowed by the bone crossed
  along their line; the near field carries a reverberation: the maternal wall's echoes
  repeated at twice their depth, weaker;
- **display**: log compression to :attr:`~ProcessedProbe.dynamic_range_db` at a fixed
  gain, total-variation speckle reduction (scikit-image's Chambolle solver), an unsharp
  mask for edge enhancement and an S-shaped grey map; black outside the sector.

Nothing is trained on it, it shares no code with the training renderer or the other
two evaluation-only appearances, and its parameters were set by looking at its own
images, before any model was scored on it (research log, session 20).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim import labels as L
from ..sim.geometry import Pose

#: mean echo intensity per label, relative (this module's own)
MEAN_ECHO = {
    L.FLUID: 0.00003,
    L.BONE: 1.0,
    L.BRAIN: 0.006,
    L.FALX: 0.25,
    L.CSP: 0.001,
    L.VENTRICLE: 0.001,
    L.CHOROID: 0.3,
    L.THALAMUS: 0.003,
    L.SCALP: 0.12,
    L.MEMBRANE: 0.1,
}
#: Nakagami shape per label (1: Rayleigh speckle; above: fewer, brighter, more regular)
NAKAGAMI_M = {L.BONE: 3.0, L.FALX: 2.0, L.CHOROID: 1.5}
WALL_ECHO = 0.03  #: the maternal wall's mean echo


@dataclass(frozen=True)
class ProcessedProbe:
    radius_mm: float = 50.0  #: curvature of the probe face
    half_angle_deg: float = 33.0  #: half the sector's opening
    cell_axial_mm: float = 0.45  #: a resolution cell's length along the line
    cell_lateral_mm: float = 0.8  #: ... and across it at the probe ...
    cell_growth: float = 0.01  #: ... widening per mm of depth
    incidence_power: float = 3.0  #: bone's echo by the cosine of incidence to this power
    shadow_per_mm: float = 0.25  #: intensity lost per mm of bone crossed (e-folds, both ways)
    attenuation_db_mm: float = 0.04  #: round trip, left uncompensated
    wall_mm: float = 12.0  #: the maternal wall under the probe
    reverberation: float = 0.06  #: the wall's echoes again at twice their depth
    dynamic_range_db: float = 42.0
    reference: float = 1.5  #: the intensity shown as white (fixed, as a scanner's gain is)
    smoothing: float = 0.03  #: total-variation weight of the speckle reduction
    edge_amount: float = 0.7  #: the unsharp mask's amount ...
    edge_radius_px: float = 2.0  #: ... and radius
    contrast: float = 6.0  #: the grey map's slope at mid grey


def _cells(probe: ProcessedProbe, depth_mm: float):
    """Depths (from the probe face) and angles of the cells' centres."""
    half = np.deg2rad(probe.half_angle_deg)
    r = np.arange(0.0, depth_mm + probe.cell_axial_mm, probe.cell_axial_mm)
    n = int(np.ceil(2 * half * (probe.radius_mm + depth_mm) / probe.cell_lateral_mm))
    return r, np.linspace(-half, half, n)


def processed_view(
    labels: np.ndarray,
    spacing_mm: float,
    pose: Pose,
    seed: int = 0,
    probe: ProcessedProbe = ProcessedProbe(),
) -> np.ndarray:
    """The plane ``pose`` through label volume ``labels`` in this appearance: an
    ``(H, W)`` float32 image in [0, 1]."""
    from scipy import ndimage
    from skimage.filters import unsharp_mask
    from skimage.restoration import denoise_tv_chambolle

    h, w = pose.shape
    sp = pose.spacing_mm
    lab = L.labels_on_plane(np.asarray(labels), spacing_mm, pose)
    R = probe.radius_mm
    r, phi = _cells(probe, np.hypot(h, w / 2) * sp)
    # the cells' centres in pixels (the probe face touches the top centre)
    zz = (R + r[None, :]) * np.cos(phi)[:, None] - R
    xx = (R + r[None, :]) * np.sin(phi)[:, None]
    at = [zz / sp - 0.5, xx / sp + (w - 1) / 2]
    cell_lab = ndimage.map_coordinates(lab, at, order=0, mode="constant", cval=L.FLUID)
    mean = L.lookup(MEAN_ECHO)[cell_lab]
    # the skull by incidence: the bone outline's normal against the line's direction
    bone = ndimage.gaussian_filter((lab == L.BONE).astype(float), 1.0 / sp)
    gz, gx = np.gradient(bone)
    nz = ndimage.map_coordinates(gz, at, order=1, mode="constant")
    nx = ndimage.map_coordinates(gx, at, order=1, mode="constant")
    norm = np.maximum(np.hypot(nz, nx), 1e-6)
    cosine = np.abs(nz * np.cos(phi)[:, None] + nx * np.sin(phi)[:, None]) / norm
    is_bone = cell_lab == L.BONE
    mean = np.where(is_bone, mean * (0.02 + 0.98 * cosine**probe.incidence_power), mean)
    mean = np.where(r[None, :] < probe.wall_mm, WALL_ECHO * (1 + np.sin(r / 1.7) ** 2), mean)
    # shadowing behind bone along each line, attenuation with depth
    crossed = np.cumsum(is_bone, axis=1) * probe.cell_axial_mm - is_bone * probe.cell_axial_mm
    mean = mean * np.exp(-probe.shadow_per_mm * crossed)
    mean = mean * 10 ** (-probe.attenuation_db_mm * r[None, :] / 10)
    # reverberation between the probe face and the wall: its echoes again at 2x depth
    j = np.arange(int(probe.wall_mm / probe.cell_axial_mm))
    ghost = np.zeros_like(mean)
    for twice in (2 * j, 2 * j + 1):  # a cell at depth d lands on the two at 2d
        ghost[:, twice[twice < mean.shape[1]]] += mean[:, j[twice < mean.shape[1]]] / 2
    mean = mean + probe.reverberation * ghost
    # each cell's intensity: gamma(m, mean / m), the square of a Nakagami envelope
    m = L.lookup(NAKAGAMI_M, fill=1.0)[cell_lab]
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 37])
    intensity = rng.gamma(m, mean / m)
    # scan conversion: the pixels' depth and angle, the cells interpolated bilinearly
    rows, cols = np.meshgrid(
        (np.arange(h) + 0.5) * sp, (np.arange(w) - (w - 1) / 2) * sp, indexing="ij"
    )
    rho = np.hypot(rows + R, cols) - R
    theta = np.arctan2(cols, rows + R)
    ti = (theta - phi[0]) / (phi[1] - phi[0])
    image = ndimage.map_coordinates(
        intensity, [ti, rho / probe.cell_axial_mm], order=1, mode="nearest"
    )
    db = 10 * np.log10(np.maximum(image, 1e-12) / probe.reference)
    image = np.clip(1.0 + db / probe.dynamic_range_db, 0.0, 1.0)
    # the scanner's display chain
    image = denoise_tv_chambolle(image, weight=probe.smoothing)
    image = unsharp_mask(image, radius=probe.edge_radius_px, amount=probe.edge_amount)
    image = 1.0 / (1.0 + np.exp(-probe.contrast * (np.clip(image, 0, 1) - 0.5)))
    lo, hi = 1.0 / (1.0 + np.exp(probe.contrast / 2)), 1.0 / (1.0 + np.exp(-probe.contrast / 2))
    image = (image - lo) / (hi - lo)
    image[np.abs(theta) > np.deg2rad(probe.half_angle_deg)] = 0.0
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def processed_views(
    labels: np.ndarray, spacing_mm: float, poses: dict[str, Pose], seed: int = 0
) -> dict[str, np.ndarray]:
    """A head's planes in this appearance (:func:`~.appearance.planes_in`)."""
    from .appearance import planes_in

    return planes_in(processed_view, labels, spacing_mm, poses, seed)
