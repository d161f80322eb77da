"""B-mode ultrasound simulation of any plane through a label volume.

A curvilinear probe sits above the image (its virtual apex ``apex_mm`` above the
top-centre pixel); scan lines fan out over ``+-half_angle_deg`` and are sampled in
depth. Along every line (docs/design.md, Facts):

* acoustic properties (impedance Z, attenuation alpha, backscatter) are sampled from
  the label volume's property volumes by trilinear interpolation; a maternal
  abdominal wall (skin, fat, muscle) fills the first millimetres of depth;
* specular reflection: the amplitude reflectivity density is ``1/2 d ln Z / ds``
  (integrating to ``(Z2-Z1)/(Z2+Z1)`` across an interface), weighted by
  ``floor + (1 - floor) cos^k`` of the incidence angle (the interface normal is the
  gradient of Z; ``Probe.specular_floor``, ``Probe.specular_power``): an interface
  along the beam echoes faintly;
* transmission: the product of ``(1 - R)`` over the interfaces passed, with
  ``R = ((Z2-Z1)/(Z2+Z1))^2``; attenuation: ``exp(-2 * 0.1151 * alpha * f * d)`` for
  the round trip. Bone reflects and attenuates strongly: the shadow behind it;
* speckle: complex Gaussian scatterers (Rayleigh envelope) scaled by the
  backscatter amplitude;
* a depth-dependent point-spread function (Gaussian pulse axially, a beam that
  widens away from the focus laterally), then the envelope, time-gain compensation
  and log compression to ``dynamic_range_db``; finally scan conversion to the
  ``H x W`` pixel grid, black outside the fan.

Bone's own backscatter, the interface echoes' length and a near-field clutter widen
the training acquisitions (:mod:`.acquisition`); their defaults change nothing.

With ``speckle=False`` the same plane is rendered as the *expected* image: the
envelope is the root of the expected intensity (specular part squared plus the
speckle variance blurred by the squared PSF), which is the ground truth for
generated views. Everything is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import labels as L
from .geometry import VIEW_NAMES, Pose, scan_poses
from .medium import Medium, maternal_wall

NEPER_PER_DB = 0.1151  # ln(10) / 20


@dataclass(frozen=True)
class Probe:
    """A curvilinear abdominal probe and the scanner's display settings."""

    frequency_mhz: float = 3.5  #: abdominal obstetric probes: 3.5-5 MHz
    apex_mm: float = 40.0  #: radius of curvature of the probe face
    half_angle_deg: float = 36.0  #: half the fan opening
    n_lines: int = 256  #: scan lines across the fan
    depth_step_mm: float = 0.5  #: sample spacing along a line
    focus_mm: float = 70.0  #: focal depth below the probe face
    axial_sigma_mm: float = 0.6  #: Gaussian pulse envelope (about two cycles at 3.5 MHz)
    lateral_sigma_mm: float = 1.0  #: beam width (sigma) at the focus
    lateral_growth: float = 0.02  #: beam widening per mm away from the focus
    tgc_db_cm_mhz: float = 0.15  #: time-gain compensation, round trip
    dynamic_range_db: float = 55.0  #: log compression window
    reference: float = 0.30  #: echo amplitude shown as white
    speckle_gain: float = 0.5  #: backscatter relative to specular echoes
    noise_floor: float = 2e-5  #: electronic noise amplitude
    compounding: int = 3  #: independent speckle patterns averaged in intensity
    #: specular echo strength at grazing incidence, relative to normal incidence ...
    specular_floor: float = 0.15
    #: ... and the power of the incidence cosine between (rougher interfaces: lower)
    specular_power: float = 2.0
    bone_scatter: float = 1.0  #: bone's backscatter, relative (towards 0: surfaces only)
    interface_sigma: float = 1.0  #: interface echoes' length, relative (below 1: crisper)
    #: near-field clutter (probe-wall reverberation), relative to brain's echo at the
    #: probe, fading with depth over ``clutter_depth_mm``
    clutter: float = 0.0
    clutter_depth_mm: float = 15.0


@dataclass
class View:
    """A simulated (or acquired) 2D view: image in [0, 1] and where it lies."""

    name: str
    image: np.ndarray  #: (H, W) float32 in [0, 1]
    pose: Pose
    seed: int = 0
    speckle: bool = True

    @property
    def spacing_mm(self) -> float:
        return self.pose.spacing_mm


_SOFT_Z = L.ACOUSTIC[L.FALX].impedance  #: the stiffest soft tissue's impedance ...
_BONE_Z = L.ACOUSTIC[L.BONE].impedance  #: ... and bone's (MRayl)
_BRAIN_ECHO = L.ACOUSTIC[L.BRAIN].scatter  #: brain's backscatter: the clutter's unit


def _gauss_kernel(sigma: float, peak_one: bool = False) -> np.ndarray:
    radius = max(1, int(np.ceil(3.5 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=float)
    k = np.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    return k / (k.max() if peak_one else k.sum())


def _lateral_blur(field: np.ndarray, sigmas_by_depth: np.ndarray, squared: bool) -> np.ndarray:

    from scipy import ndimage  # imported here: importing the package stays quick

    """Blur along the line axis with a depth-dependent Gaussian, by blending a few
    constant-width blurs, each computed only over the depths it contributes to.
    ``field`` is ``(..., lines, depth)``. ``squared`` convolves with the squared
    kernel instead (for expected speckle intensity)."""
    n_bands = 6
    depth = field.shape[-1]
    centres = np.linspace(0, depth - 1, n_bands)
    width = centres[1] - centres[0]
    out = np.zeros_like(field)
    j = np.arange(depth)
    for centre in centres:
        lo, hi = max(int(np.floor(centre - width)), 0), min(int(np.ceil(centre + width)) + 1, depth)
        sigma = float(sigmas_by_depth[int(centre)])
        part = field[..., lo:hi]
        if squared:
            blurred = ndimage.gaussian_filter1d(part, sigma / np.sqrt(2), axis=-2) / (
                2 * np.sqrt(np.pi) * sigma
            )
        else:
            blurred = ndimage.gaussian_filter1d(part, sigma, axis=-2)
        weight = np.clip(1.0 - np.abs(j[lo:hi] - centre) / width, 0.0, 1.0)
        out[..., lo:hi] += blurred * weight
    return out


def simulate_view(
    labels_or_mask,
    pose: Pose,
    spacing_mm: float = 2.0,
    seed: int = 0,
    speckle: bool = True,
    probe: Probe | None = None,
    name: str | None = None,
) -> View:
    """B-mode image of the plane ``pose`` through a label volume or skull mask."""
    medium = (
        labels_or_mask if isinstance(labels_or_mask, Medium) else Medium(labels_or_mask, spacing_mm)
    )
    probe = probe or Probe()
    image = _render(medium, pose, probe, int(seed), bool(speckle))
    return View(
        name=name or pose.name or "view",
        image=image,
        pose=pose,
        seed=int(seed),
        speckle=bool(speckle),
    )


def _render(medium: Medium, pose: Pose, probe: Probe, seed: int, speckle: bool) -> np.ndarray:

    from scipy import ndimage  # imported here: importing the package stays quick

    h, w = pose.shape
    sp = pose.spacing_mm
    R = probe.apex_mm
    half = np.deg2rad(probe.half_angle_deg)
    # coarse images need no finer sampling than half a pixel (default images: unchanged)
    step = max(probe.depth_step_mm, sp / 2)
    n_lines = max(32, min(probe.n_lines, int(round(probe.n_lines / sp))))
    max_depth = np.hypot(h * sp + R, w * sp / 2) - R
    theta = np.linspace(-half, half, n_lines)
    depth = (np.arange(int(np.ceil(max_depth / step)) + 2) + 0.5) * step
    rr = R + depth[None, :]
    v, u = -R + rr * np.cos(theta)[:, None], rr * np.sin(theta)[:, None]  # in-plane mm
    points = pose.points(v / sp, u / sp + (w - 1) / 2)
    props = medium.sample(points)

    rng_scan = np.random.default_rng([seed & 0xFFFFFFFF, 1])
    wall_z, wall_a, wall_s = maternal_wall(np.broadcast_to(depth, v.shape), rng_scan)
    in_wall = np.isfinite(wall_z)
    Z = np.where(in_wall, wall_z, props["impedance"])
    alpha = np.where(in_wall, wall_a, props["attenuation"])
    scatter = np.where(in_wall, wall_s, props["scatter"])
    bone = np.clip((Z - _SOFT_Z) / (_BONE_Z - _SOFT_Z), 0.0, 1.0)  # how much is bone
    scatter = scatter * (1.0 - bone * (1.0 - probe.bone_scatter))

    # specular reflection with the incidence-angle weighting
    beam = np.cos(theta)[:, None, None] * np.asarray(pose.row_axis) + np.sin(theta)[
        :, None, None
    ] * np.asarray(pose.col_axis)
    g = props["gradient"]
    gnorm = np.linalg.norm(g, axis=-1)
    cos_inc = np.abs(np.sum(g * beam, axis=-1)) / (gnorm + 1e-6)
    floor = probe.specular_floor
    incidence = np.where(gnorm > 1e-4, floor + (1 - floor) * cos_inc**probe.specular_power, 1.0)
    # echoes of neighbouring interfaces add in power, not in (phase-blind) amplitude
    density = 0.5 * np.abs(np.diff(np.log(Z), axis=1, prepend=np.log(Z[:, :1]))) * incidence
    sigma_s = max(0.5 * medium.spacing_mm / step, 1.0) * probe.interface_sigma
    specular = ndimage.convolve1d(
        density, _gauss_kernel(sigma_s, peak_one=True), axis=1, mode="nearest"
    )

    # transmission losses at interfaces and attenuation, round trip (amplitude)
    loss = np.log1p(-np.minimum(specular**2, 0.95)) / (np.sqrt(np.pi) * sigma_s)
    transmission = np.exp(np.cumsum(loss, axis=1) - loss)
    f = probe.frequency_mhz
    att_db = np.cumsum(alpha, axis=1) * (step / 10.0) * f
    attenuation = np.exp(-2 * NEPER_PER_DB * (att_db - alpha * (step / 10.0) * f))
    gain = attenuation * transmission
    diffuse = gain * scatter * probe.speckle_gain
    # streaky haze near the probe, stronger on some lines (none at the default 0)
    streaks = np.exp(0.5 * rng_scan.standard_normal((len(theta), 1)))
    haze = np.exp(-depth / probe.clutter_depth_mm)[None, :] * streaks
    diffuse = diffuse + probe.clutter * _BRAIN_ECHO * probe.speckle_gain * haze
    coherent = gain * specular

    sigma_ax = probe.axial_sigma_mm / step
    lateral_mm = probe.lateral_sigma_mm + probe.lateral_growth * np.abs(depth - probe.focus_mm)
    sigma_lat = lateral_mm / ((R + depth) * (theta[1] - theta[0]))  # in lines

    def psf(x, squared=False):  # x: (..., lines, depth)
        if squared:
            x = ndimage.gaussian_filter1d(x, sigma_ax / np.sqrt(2), axis=-1) / (
                2 * np.sqrt(np.pi) * sigma_ax
            )
        else:
            x = ndimage.gaussian_filter1d(x, sigma_ax, axis=-1)
        return _lateral_blur(x, sigma_lat, squared)

    rng_speckle = np.random.default_rng([seed & 0xFFFFFFFF, 2])
    if speckle:
        # spatial compounding: the intensities of a few independent speckle patterns
        # are averaged, as scanners do, which fills the deepest Rayleigh nulls
        n = probe.compounding
        scatterers = rng_speckle.standard_normal((2 * n, *v.shape)) / np.sqrt(2)
        noise = probe.noise_floor * rng_speckle.standard_normal((2 * n, *v.shape)) / np.sqrt(2)
        blurred = psf(np.concatenate([coherent[None], diffuse[None] * scatterers]))
        re = blurred[0] + blurred[1::2] + noise[0::2]
        im = blurred[2::2] + noise[1::2]
        envelope = np.sqrt(np.mean(re**2 + im**2, axis=0))
    else:
        envelope = np.sqrt(
            psf(coherent) ** 2 + psf(diffuse**2, squared=True) + probe.noise_floor**2
        )

    envelope *= np.exp(2 * NEPER_PER_DB * probe.tgc_db_cm_mhz * f * depth / 10.0)[None, :]
    db = 20 * np.log10(envelope / probe.reference + 1e-12)
    polar = np.clip(1.0 + db / probe.dynamic_range_db, 0.0, 1.0)

    # scan conversion to the pixel grid
    rows, cols = np.meshgrid(np.arange(h) * sp, (np.arange(w) - (w - 1) / 2) * sp, indexing="ij")
    rho = np.hypot(rows + R, cols)
    ang = np.arctan2(cols, rows + R)
    li = (ang + half) / (theta[1] - theta[0])
    di = (rho - R) / step - 0.5
    image = ndimage.map_coordinates(
        polar, [li, di], order=1, mode="constant", cval=0.0, prefilter=False
    )
    image[(np.abs(ang) > half) | (rho < R)] = 0.0
    return image.astype(np.float32)


def view_seed(seed: int, view: str) -> int:
    """The seed of one view within a scan with ``seed`` (views differ in speckle)."""
    return int(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFF, VIEW_NAMES.index(view)]).generate_state(1)[
            0
        ]
    )


def simulate_views(
    labels_or_mask,
    spacing_mm: float = 2.0,
    seed: int = 0,
    views=VIEW_NAMES,
    jitter: bool = True,
    speckle: bool = True,
    probe: Probe | None = None,
    shape=(128, 128),
    pixel_mm: float = 1.0,
    max_angle_deg: float = 10.0,
    max_shift_mm: float = 5.0,
) -> dict[str, View]:
    """The standard planes through a head, each with its pose; with ``jitter`` the
    poses are perturbed (rotation up to ``max_angle_deg``, shift up to
    ``max_shift_mm``): the views are not registered."""
    medium = (
        labels_or_mask if isinstance(labels_or_mask, Medium) else Medium(labels_or_mask, spacing_mm)
    )
    poses = scan_poses(
        medium.standard_centre(), seed, views, jitter, shape, pixel_mm, max_angle_deg, max_shift_mm
    )
    return {
        name: simulate_view(
            medium, pose, seed=view_seed(seed, name), speckle=speckle, probe=probe, name=name
        )
        for name, pose in poses.items()
    }
