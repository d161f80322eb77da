"""Fetal head biometry: INTERGROWTH-21st size charts and Hadlock dating.

INTERGROWTH-21st fetal growth standards (Papageorghiou et al., Lancet 2014), with GA
in exact weeks and results in mm, valid ~14-40 weeks (we use 16-38):

    HC  = -28.2849 + 1.69267 GA^2 - 0.397485 GA^2 ln GA
    BPD = 5.60878 + 0.158369 GA^2 - 0.00256379 GA^3
    OFD = -12.4097 + 0.626342 GA^2 - 0.148075 GA^2 ln GA

with the standard deviations of the paper (see the functions). Head circumference
of a BPD x OFD ellipse by Ramanujan's perimeter; gestational age from HC by
Hadlock (GA = 8.96 + 0.540 HC + 0.0003 HC^3, HC in cm) and by inverting the
INTERGROWTH HC curve.

BPD and OFD here are outer-to-outer diameters of the skull's outer contour in the
axial (transventricular) plane; HC is the perimeter of that contour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

GA_MIN, GA_MAX = 16.0, 38.0  #: the gestational-age range this product supports


@dataclass(frozen=True)
class Biometry:
    bpd_mm: float  #: biparietal diameter
    ofd_mm: float  #: occipito-frontal diameter
    hc_mm: float  #: head circumference
    ga_weeks: float  #: gestational age (true, or implied by the measurement)

    @property
    def cephalic_index(self) -> float:
        return 100.0 * self.bpd_mm / self.ofd_mm

    def to_dict(self) -> dict:
        return asdict(self)


def hc_mean(ga):
    ga = np.asarray(ga, float)
    return -28.2849 + 1.69267 * ga**2 - 0.397485 * ga**2 * np.log(ga)


def hc_sd(ga):
    ga = np.asarray(ga, float)
    lg = np.log(ga)
    return 1.98735 + 0.0136772 * ga**3 - 0.00726264 * ga**3 * lg + 0.000976253 * ga**3 * lg**2


def bpd_mean(ga):
    ga = np.asarray(ga, float)
    return 5.60878 + 0.158369 * ga**2 - 0.00256379 * ga**3


def bpd_sd(ga):
    ga = np.asarray(ga, float)
    lg = np.log(ga)
    return np.exp(
        0.101242 + 0.00150557 * ga**3 - 0.000771535 * ga**3 * lg + 0.0000999638 * ga**3 * lg**2
    )


def ofd_mean(ga):
    ga = np.asarray(ga, float)
    return -12.4097 + 0.626342 * ga**2 - 0.148075 * ga**2 * np.log(ga)


def ofd_sd(ga):
    ga = np.asarray(ga, float)
    lg = np.log(ga)
    return np.exp(
        -0.880034 + 0.0631165 * ga**2 - 0.0317136 * ga**2 * lg + 0.00408302 * ga**2 * lg**2
    )


def ramanujan_perimeter(d1, d2):
    """Perimeter of an ellipse with diameters ``d1`` and ``d2`` (Ramanujan II)."""
    a, b = np.asarray(d1, float) / 2, np.asarray(d2, float) / 2
    h = ((a - b) / (a + b)) ** 2
    return np.pi * (a + b) * (1 + 3 * h / (10 + np.sqrt(4 - 3 * h)))


def ga_from_hc_hadlock(hc_mm):
    """Hadlock's gestational age (weeks) from head circumference (mm)."""
    hc_cm = np.asarray(hc_mm, float) / 10.0
    return 8.96 + 0.540 * hc_cm + 0.0003 * hc_cm**3


def ga_from_hc_intergrowth(hc_mm, lo: float = 12.0, hi: float = 42.0):
    """Gestational age (weeks) whose INTERGROWTH-21st mean HC equals ``hc_mm``
    (bisection; the curve is increasing over ``lo..hi``), clipped to that range."""
    hc = np.asarray(hc_mm, float)
    a = np.full(hc.shape, lo)
    b = np.full(hc.shape, hi)
    for _ in range(60):
        mid = (a + b) / 2
        below = hc_mean(mid) < hc
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    return (a + b) / 2


def expected(ga_weeks: float) -> Biometry:
    """INTERGROWTH-21st mean biometry at ``ga_weeks``."""
    return Biometry(
        float(bpd_mean(ga_weeks)),
        float(ofd_mean(ga_weeks)),
        float(hc_mean(ga_weeks)),
        float(ga_weeks),
    )
