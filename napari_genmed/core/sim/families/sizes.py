"""What every shape family draws from the growth charts: head sizes within the
INTERGROWTH-21st SD for the age, and the skull's tissues for the age.

A head's size is a shared z-score (sd 0.7, within +-2) and its shape a cephalic-index
z-score, as the phantom draws them; a family may widen the cephalic index (clinical
head shapes) and then scales its outline so that its HC is the drawn one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import biometry as bio


@dataclass(frozen=True)
class Sizes:
    bpd: float  #: mm, outer to outer
    ofd: float  #: mm
    hc: float  #: the HC (mm) the outline is scaled to


def draw_sizes(ga_weeks: float, rng: np.random.Generator, ci_sd: float = 0.6) -> Sizes:
    """BPD and OFD around the INTERGROWTH means for ``ga_weeks`` (a size and a
    cephalic-index z-score), and the HC of their ellipse."""
    if not (bio.GA_MIN - 1e-9 <= ga_weeks <= bio.GA_MAX + 1e-9):
        raise ValueError(
            f"gestational age must lie in {bio.GA_MIN:g}-{bio.GA_MAX:g} weeks, got {ga_weeks}"
        )
    z_size = float(np.clip(rng.normal(0.0, 0.7), -2.0, 2.0))
    z_ci = float(np.clip(rng.normal(0.0, ci_sd), -3 * ci_sd, 3 * ci_sd))
    bpd = float(bio.bpd_mean(ga_weeks) + (z_size + 0.5 * z_ci) * bio.bpd_sd(ga_weeks))
    ofd = float(bio.ofd_mean(ga_weeks) + (z_size - 0.5 * z_ci) * bio.ofd_sd(ga_weeks))
    hc = float(bio.hc_mean(ga_weeks) + z_size * bio.hc_sd(ga_weeks))
    return Sizes(bpd, ofd, hc)


def tissues(ga_weeks: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """Skull thickness (3-5 mm growing with GA, +-0.3 mm), scalp (mm) and suture width
    (mm, narrowing with GA, drawn over a wider range than the phantom's)."""
    growth = (ga_weeks - bio.GA_MIN) / (bio.GA_MAX - bio.GA_MIN)
    thickness = 3.0 + 2.0 * growth + rng.uniform(-0.3, 0.3)
    scalp = 1.5 + 2.0 * growth + rng.uniform(-0.3, 0.3)
    suture = (2.0 - 1.0 * growth) * rng.uniform(0.7, 1.6)
    return float(thickness), float(max(scalp, 1.0)), float(suture)


def ellipsoid_radius(
    uz, uy, ux, b: float, a_front: float, a_back: float, c_up: float, c_down: float
):
    """Distance from the centre to an egg of those semi-axes along unit direction u."""
    a = np.where(uy >= 0, a_front, a_back)
    c = np.where(uz >= 0, c_up, c_down)
    return 1.0 / np.sqrt((uz / c) ** 2 + (uy / a) ** 2 + (ux / b) ** 2 + 1e-12)


def unit(z, y, x):
    """``(r, uz, uy, ux)`` of broadcastable mm coordinates."""
    r = np.sqrt(z * z + y * y + x * x) + 1e-9
    return r, z / r, y / r, x / r
