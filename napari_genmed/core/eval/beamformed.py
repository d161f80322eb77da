"""A second scanner appearance for evaluation only: pulse-echo channel data from point
scatterers, beamformed by delay and sum.

The project's renderer (:mod:`~..sim.ultrasound`) forms each scan line from acoustic
property volumes; the first evaluation-only appearance (:mod:`.appearance`) convolves
a reflectivity map with an analytic point-spread function. This one forms the image as
a scanner does, from the echoes each element of the array receives (the route of
SIMUS / MUST, Garcia 2022, and Field II, Jensen 1996, in a simplified 2D form):

- **scatterers**: random points over the plane (:data:`DENSITY_PER_MM2`), each with a
  Gaussian amplitude scaled by the root of its tissue's backscatter (this module's own
  table, :data:`BACKSCATTER`); plus *ordered* points on a regular grid finer than a
  quarter wavelength, weighted by a smoothed bone map and along two layers of the
  maternal wall. A regular grid scatters nothing coherent inside a uniform region and
  reflects at its edges, strongest where the edge faces the wave: specular echoes come
  out of the geometry, not out of a formula;
- **transmission**: a convex array (:class:`BeamformedProbe`: radius, sector,
  elements) fires all elements at once, a cylindrical wave from its centre of
  curvature; the two-way path of a scatterer to element ``e`` is
  ``(|s - C| - R) + |s - e|``;
- **channel data** in baseband: each arrival ``a exp(-i k0 tau)`` placed on a path grid
  of a quarter wavelength (linear in the delay) and convolved with the pulse's
  Gaussian envelope (:attr:`BeamformedProbe.pulse_sigma_mm`, in round-trip path), with
  the elements' directivity, attenuation with depth, and the loss through bone along
  the ray from the centre of curvature (shadowing); electronic noise on every channel;
- **delay and sum** on a grid of half the pixel, each element's sample at the pixel's
  two-way delay re-modulated by ``exp(+i k0 tau)`` and weighted by the element's
  directivity; the envelope is the modulus, averaged in intensity to the pixel grid
  (scan conversion), a time-gain compensation that does not match the attenuation,
  log compression to :attr:`BeamformedProbe.dynamic_range_db` at a fixed gain;
- black outside the sector.

Nothing is trained on it and it shares no code with the training renderer, so the two
appearances differ in image formation only when rendered at the same poses
(:func:`beamformed_views`). Written after the first evaluation-only appearance had been
looked at while widening the training's acquisitions (research log, session 16): this
one was not, and is the untouched held-out appearance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim import labels as L
from ..sim.geometry import Pose

#: backscatter per label, relative (this module's own; a root of it scales amplitudes)
BACKSCATTER = {
    L.FLUID: 0.00002,
    L.BONE: 0.3,
    L.BRAIN: 0.01,
    L.FALX: 0.15,
    L.CSP: 0.001,
    L.VENTRICLE: 0.001,
    L.CHOROID: 0.2,
    L.THALAMUS: 0.006,
    L.SCALP: 0.06,
    L.MEMBRANE: 0.03,
}
DENSITY_PER_MM2 = 3.0  #: random scatterers per mm^2 (several per resolution cell: speckle)


@dataclass(frozen=True)
class BeamformedProbe:
    radius_mm: float = 60.0  #: convex array's radius of curvature
    half_angle_deg: float = 30.0  #: half the sector (the array's arc)
    n_elements: int = 128  #: about a wavelength apart on the arc
    wavelength_mm: float = 0.44  #: 3.5 MHz in tissue (c = 1.54 mm/us)
    pulse_sigma_mm: float = 0.9  #: the pulse envelope, in round-trip path
    acceptance_deg: float = 45.0  #: receive aperture: elements within this angle of a pixel
    attenuation_db_mm: float = 0.35  #: round trip (0.5 dB/cm/MHz at 3.5 MHz)
    tgc_db_mm: float = 0.30  #: compensated, less than lost
    bone_loss_per_mm: float = 0.08  #: amplitude lost per mm of bone crossed, each way
    ordered_mm: float = 0.15  #: grid of the ordered scatterers (< half a wavelength: no Bragg echo)
    bone_amplitude: float = 2.0  #: the ordered scatterers' amplitude in full bone
    wall_layers_mm: tuple = (3.5, 8.0)  #: maternal wall interfaces, depth below the array
    wall_mm: float = 10.0  #: the wall's depth (random scatterers of :data:`WALL`)
    #: the delay-and-sum output weighted by the coherence factor to this power (Hollman
    #: et al. 1999): one unfocused transmit leaves clutter a focused one would not
    coherence_power: float = 0.5
    noise: float = 1e-4  #: electronic noise, relative to a unit scatterer's echo
    dynamic_range_db: float = 42.0
    #: the envelope shown as white, fixed as a scanner's gain is (None: return the
    #: envelope itself); the median 99.5th percentile of head planes (9 planes, GA 20-36)
    reference: float | None = 24.0


WALL = 0.15  #: backscatter of the maternal wall's random scatterers


def _labels_at(labels, spacing_mm: float, pose: Pose, rows, cols) -> np.ndarray:
    """Labels at fractional pixel positions of plane ``pose`` (nearest voxel)."""
    from scipy import ndimage

    idx = np.moveaxis(pose.points(rows, cols) / float(spacing_mm), -1, 0)
    return ndimage.map_coordinates(labels, idx, order=0, mode="constant", cval=L.FLUID)


def _bone_crossed(bone: np.ndarray, sp: float, centre: tuple, radius: float, angles) -> callable:
    """Millimetres of bone crossed from the array to a point, along the ray from the
    centre of curvature: ``f(z, x) -> mm`` for plane coordinates (mm; z down from the
    array's apex, x across)."""
    from scipy import ndimage

    cz, cx = centre
    h, w = bone.shape
    r = radius + np.arange(int(np.ceil(np.hypot(h, w) * sp)) + 1, dtype=float)
    theta = np.linspace(angles[0], angles[1], 2 * w)
    zz = cz + r[None, :] * np.cos(theta)[:, None]
    xx = cx + r[None, :] * np.sin(theta)[:, None]
    along = ndimage.map_coordinates(bone, [zz / sp - 0.5, xx / sp + (w - 1) / 2], order=1, cval=0.0)
    table = np.cumsum(along, axis=1)  # r steps of 1 mm

    def crossed(z, x):
        rho, phi = np.hypot(z - cz, x - cx), np.arctan2(x - cx, z - cz)
        ti = (phi - theta[0]) / (theta[1] - theta[0])
        return ndimage.map_coordinates(table, [ti, rho - radius], order=1, mode="nearest")

    return crossed


def _elements(probe: BeamformedProbe):
    """The elements' angles on the arc and their positions (z, x; mm)."""
    half, R = np.deg2rad(probe.half_angle_deg), probe.radius_mm
    theta = np.linspace(-half, half, probe.n_elements)
    return theta, R * np.cos(theta) - R, R * np.sin(theta)


def _element_response(probe: BeamformedProbe, e: int, z, x):
    """Element ``e``'s directivity towards ``(z, x)`` (the cosine off its normal,
    nothing behind it), its receive apodisation there (a Hann window in angle up to
    the acceptance: smooth, so the sidelobes stay low) and its distance."""
    theta, ez, ex = _elements(probe)
    dz, dx = z - ez[e], x - ex[e]
    dist = np.maximum(np.hypot(dz, dx), 1e-6)
    c = np.clip((dz * np.cos(theta[e]) + dx * np.sin(theta[e])) / dist, 0.0, 1.0)
    angle = np.arccos(c) / np.deg2rad(probe.acceptance_deg)
    return c, np.where(angle < 1, np.cos(0.5 * np.pi * angle) ** 2, 0.0), dist


def _transmit_path(probe: BeamformedProbe, z, x):
    """Path of the cylindrical wave from the array to ``(z, x)`` (all elements fire
    at once: the wavefront is a circle about the centre of curvature)."""
    return np.hypot(z + probe.radius_mm, x) - probe.radius_mm


def _channel_data(zs, xs, amp, probe: BeamformedProbe, depth_mm: float, rng) -> np.ndarray:
    """Baseband echoes of scatterers ``(zs, xs)`` (amplitudes ``amp``) at every
    element: ``(elements, path samples)`` on a grid of a quarter wavelength of
    round-trip path; each arrival ``a exp(-i k0 tau)`` is split linearly between its
    two samples (the phase is exact, the envelope's position is not, well below the
    pulse's length) and convolved with the pulse envelope."""
    from scipy import signal

    k0 = 2 * np.pi / probe.wavelength_mm
    dt = probe.wavelength_mm / 4
    n_t = int(np.ceil(2.2 * (depth_mm + probe.radius_mm) / dt))
    tx = _transmit_path(probe, zs, xs)
    channels = np.zeros((probe.n_elements, n_t), np.complex128)
    for e in range(probe.n_elements):
        d, _, rx = _element_response(probe, e, zs, xs)
        tau = tx + rx
        weight = amp * d * np.exp(-1j * k0 * tau)
        b = tau / dt
        i0 = np.clip(np.floor(b).astype(int), 0, n_t - 2)
        f = b - i0
        for part in (1.0, 1j):  # bincount sums reals only: the real, then the imaginary
            wpart = (weight / part).real
            channels[e] += part * (
                np.bincount(i0, wpart * (1 - f), n_t) + np.bincount(i0 + 1, wpart * f, n_t)
            )
    noise = rng.standard_normal(channels.shape) + 1j * rng.standard_normal(channels.shape)
    n_half = int(np.ceil(4 * probe.pulse_sigma_mm / dt))
    pulse = np.exp(-0.5 * (np.arange(-n_half, n_half + 1) * dt / probe.pulse_sigma_mm) ** 2)
    return signal.fftconvolve(channels + probe.noise * noise, pulse[None], mode="same", axes=1)


def _delay_and_sum(channels: np.ndarray, pz, px, probe: BeamformedProbe) -> np.ndarray:
    """The complex image at points ``(pz, px)``: every element's sample at the point's
    two-way path, re-modulated and weighted by the receive apodisation, summed."""
    k0 = 2 * np.pi / probe.wavelength_mm
    dt = probe.wavelength_mm / 4
    n_t = channels.shape[1]
    ptx = _transmit_path(probe, pz, px)
    image = np.zeros(np.shape(pz), np.complex128)
    power, weights = np.zeros(np.shape(pz)), np.zeros(np.shape(pz))
    for e in range(probe.n_elements):
        _, apod, rx = _element_response(probe, e, pz, px)
        tau = ptx + rx
        b = np.clip(tau / dt, 0, n_t - 1.001)
        i0 = b.astype(int)
        f = b - i0
        sample = channels[e, i0] * (1 - f) + channels[e, i0 + 1] * f
        image += apod * sample * np.exp(1j * k0 * tau)
        power += apod * np.abs(sample) ** 2
        weights += apod
    # the coherence factor |sum a s|^2 / (sum a * sum a |s|^2), at most 1 (Cauchy-Schwarz):
    # 1 for an echo all elements agree on, small for the clutter an unfocused transmit
    # leaves
    coherence = np.abs(image) ** 2 / np.maximum(weights * power, 1e-30)
    return image * coherence**probe.coherence_power


def beamformed_view(
    labels: np.ndarray,
    spacing_mm: float,
    pose: Pose,
    seed: int = 0,
    probe: BeamformedProbe = BeamformedProbe(),
) -> np.ndarray:
    """The plane ``pose`` through label volume ``labels`` in this appearance: an
    ``(H, W)`` float32 image in [0, 1] (2-3 s for 128 x 128 on one core)."""
    from scipy import ndimage

    labels = np.asarray(labels)
    h, w = pose.shape
    sp = pose.spacing_mm
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 23])
    R, half = probe.radius_mm, np.deg2rad(probe.half_angle_deg)
    centre = (-R, 0.0)  # the array touches the top centre of the image

    # scatterers: (z, x) in mm and amplitude
    n_random = int(DENSITY_PER_MM2 * h * w * sp * sp)
    zr, xr = rng.uniform(0, h * sp, n_random), rng.uniform(-w * sp / 2, w * sp / 2, n_random)
    table = L.lookup(BACKSCATTER)
    lab = _labels_at(labels, spacing_mm, pose, zr / sp - 0.5, xr / sp + (w - 1) / 2)
    depth_r = np.hypot(zr + R, xr) - R
    back = np.where(depth_r < probe.wall_mm, WALL, table[lab])
    amp = [np.sqrt(back) * rng.standard_normal(n_random)]
    zs, xs = [zr], [xr]
    bone = (L.labels_on_plane(labels, spacing_mm, pose) == L.BONE).astype(np.float32)
    # the bone's outline smoothed below the pixel, then cut sharp: a reflection needs a
    # step shorter than a wavelength (a smooth one reflects nothing), the pixel
    # staircase would scatter
    smooth = ndimage.gaussian_filter(bone, 0.7 / sp)
    g = np.arange(0, h * sp, probe.ordered_mm)
    gz, gx = np.meshgrid(g, g - w * sp / 2, indexing="ij")
    frac = ndimage.map_coordinates(smooth, [gz / sp - 0.5, gx / sp + (w - 1) / 2], order=1)
    keep = frac > 0.5
    zs.append(gz[keep])
    xs.append(gx[keep])
    amp.append(np.full(int(keep.sum()), probe.bone_amplitude))
    for layer in probe.wall_layers_mm:  # two interfaces of the maternal wall, arcs
        phi = np.arange(-half, half, probe.ordered_mm / (R + layer))
        zs.append((R + layer) * np.cos(phi) - R)
        xs.append((R + layer) * np.sin(phi))
        amp.append(np.full(len(phi), 0.3))
    zs, xs, amp = np.concatenate(zs), np.concatenate(xs), np.concatenate(amp)
    crossed = _bone_crossed(bone, sp, centre, R, (-half - 0.1, half + 0.1))
    depth = np.hypot(zs + R, xs) - R
    amp = amp * 10 ** (-probe.attenuation_db_mm * np.maximum(depth, 0) / 20)
    amp = amp * np.exp(-2 * probe.bone_loss_per_mm * crossed(zs, xs))

    # the array's channel data, then delay and sum on a grid of half the pixel
    channels = _channel_data(zs, xs, amp, probe, h * sp, rng)
    fz = (np.arange(2 * h) + 0.5) * sp / 2
    fx = (np.arange(2 * w) - (2 * w - 1) / 2) * sp / 2
    image = _delay_and_sum(channels, *np.meshgrid(fz, fx, indexing="ij"), probe)
    intensity = np.abs(image) ** 2
    envelope = np.sqrt(intensity.reshape(h, 2, w, 2).mean(axis=(1, 3)))
    rows, cols = np.meshgrid(
        (np.arange(h) + 0.5) * sp, (np.arange(w) - (w - 1) / 2) * sp, indexing="ij"
    )
    depth_px = np.hypot(rows + R, cols) - R
    envelope = envelope * 10 ** (probe.tgc_db_mm * depth_px / 20)
    if probe.reference is None:  # the measurement of the reference itself
        return envelope.astype(np.float32)
    db = 20 * np.log10(envelope / probe.reference + 1e-9)
    out = np.clip(1.0 + db / probe.dynamic_range_db, 0.0, 1.0)
    out[np.abs(np.arctan2(cols, rows + R)) > half] = 0.0
    return out.astype(np.float32)


def beamformed_views(
    labels: np.ndarray, spacing_mm: float, poses: dict[str, Pose], seed: int = 0
) -> dict[str, np.ndarray]:
    """A head's planes in this appearance (:func:`~.appearance.planes_in`)."""
    from .appearance import planes_in

    return planes_in(beamformed_view, labels, spacing_mm, poses, seed)
