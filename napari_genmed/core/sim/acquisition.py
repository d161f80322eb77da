"""How scanners and sonographers vary an acquisition, for training views.

:func:`random_probe` draws the settings a scan is made with: centre frequency (and
with it the pulse length), the beam's width and focus, the sector's opening and the
probe's curvature (down to phased-array-like small apices), how strongly echoes
depend on the incidence angle, gain, time-gain compensation, dynamic range, speckle strength,
spatial compounding / persistence (more patterns averaged: smoother speckle) and a
harmonic-like mode (a narrower beam and weaker clutter), and (version 3) how bone
echoes (from its whole thickness, or at its surfaces only), how thin interface echoes
are and a near-field reverberation clutter. :func:`burn_in` draws what
scanners write into the image: text, caliper crosses with their dotted line, depth
ticks and a gray bar. The ranges are those of abdominal obstetric scanning (2-6 MHz
curvilinear probes; display settings as sonographers change them); they widen the one
appearance the models saw, they do not replace it: the defaults of
:class:`~.ultrasound.Probe` lie inside every range.

The evaluation's held-out appearance is another image-formation route altogether
(:mod:`~..eval.appearance`), never drawn from here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .ultrasound import Probe

#: bumped whenever :func:`random_probe` or :func:`burn_in` draw differently: part of
#: the dataset cache's key (2: small apices and the incidence-angle law; 3: bone's
#: backscatter, thin interfaces, near-field clutter, darker speckle)
ACQUISITION_VERSION = 3


def random_probe(rng: np.random.Generator) -> Probe:
    """One scan's settings (see the module docstring)."""
    f = rng.uniform(2.5, 6.0)
    harmonic = rng.uniform() < 0.3
    lateral = rng.uniform(0.7, 1.5) * (0.75 if harmonic else 1.0)
    return dataclasses.replace(
        Probe(),
        frequency_mhz=f,
        axial_sigma_mm=float(0.6 * 3.5 / f * rng.uniform(0.8, 1.25)),  # about two cycles
        lateral_sigma_mm=float(lateral),
        lateral_growth=float(rng.uniform(0.01, 0.035)),
        focus_mm=float(rng.uniform(45.0, 100.0)),
        # small apices: phased and small-footprint probes, a narrow near field
        apex_mm=float(rng.uniform(5.0, 60.0)),
        half_angle_deg=float(rng.uniform(30.0, 45.0)),
        tgc_db_cm_mhz=float(rng.uniform(0.08, 0.22)),
        dynamic_range_db=float(rng.uniform(40.0, 70.0)),
        reference=float(0.30 * np.exp(rng.uniform(-0.7, 0.7))),  # gain +-6 dB
        speckle_gain=float(rng.uniform(0.15, 0.8) * (0.8 if harmonic else 1.0)),
        compounding=int(rng.integers(1, 6)),
        noise_floor=float(2e-5 * np.exp(rng.uniform(-1.0, 1.0))),
        # how much weaker an interface echoes off normal incidence (smooth bone
        # surfaces are strongly specular: the skull's sides fade)
        specular_floor=float(rng.uniform(0.02, 0.3)),
        specular_power=float(rng.uniform(1.0, 6.0)),
        # a dense, smooth bone echoes at its surfaces (half the scans), a porous one
        # from within
        bone_scatter=float(10 ** rng.uniform(-2.0, 0.0)) if rng.uniform() < 0.5 else 1.0,
        interface_sigma=float(rng.uniform(0.35, 1.0)),
        # reverberation haze under the wall: none on half the scans (harmonic imaging
        # suppresses it)
        clutter=float(rng.uniform(0.5, 4.0)) if rng.uniform() < 0.5 and not harmonic else 0.0,
        clutter_depth_mm=float(rng.uniform(4.0, 12.0)),
    )


def _glyph(rng: np.random.Generator) -> np.ndarray:
    """A 7 x 5 character-like bitmap of 1-pixel strokes."""
    g = np.zeros((7, 5), bool)
    for _ in range(rng.integers(2, 5)):
        if rng.uniform() < 0.5:
            g[rng.integers(0, 7), :] = True
        else:
            g[:, rng.integers(0, 5)] = True
    return g & (rng.uniform(size=g.shape) < 0.9)


def burn_in(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` with a scanner's overlays drawn on it (each kind with its own odds)."""
    out = np.array(image, np.float32, copy=True)
    h, w = out.shape
    level = rng.uniform(0.7, 1.0)
    if rng.uniform() < 0.6:  # lines of text in the corners
        for _ in range(rng.integers(1, 4)):
            r = rng.integers(1, max(2, h // 6))
            c = rng.integers(1, max(2, w // 4)) if rng.uniform() < 0.5 else w - rng.integers(25, 40)
            for k in range(rng.integers(3, 7)):
                cc = c + 6 * k
                if r + 7 <= h and 0 <= cc <= w - 5:
                    out[r : r + 7, cc : cc + 5][_glyph(rng)] = level
    if rng.uniform() < 0.4:  # two caliper crosses and the dotted line between them
        a, b = rng.integers(h // 4, 3 * h // 4, 2), rng.integers(w // 4, 3 * w // 4, 2)
        for r, c in zip(a, b):
            out[max(r - 3, 0) : r + 4, c] = level
            out[r, max(c - 3, 0) : c + 4] = level
        n = int(np.hypot(a[1] - a[0], b[1] - b[0]) // 3)
        for t in np.linspace(0.1, 0.9, max(n, 2)):
            out[int(a[0] + t * (a[1] - a[0])), int(b[0] + t * (b[1] - b[0]))] = level
    if rng.uniform() < 0.4:  # depth ticks down one side
        c = w - 2 if rng.uniform() < 0.5 else 1
        out[:: max(h // 12, 2), c - 1 : c + 1] = level
    if rng.uniform() < 0.3:  # a gray bar
        out[h // 4 : 3 * h // 4, :3] = np.linspace(1.0, 0.0, 3 * h // 4 - h // 4)[:, None]
    return out
