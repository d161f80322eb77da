"""Shape family "clinical": the head shapes seen in clinics, each an egg deformed by a
few named, smooth deformations.

- *normocephaly*: cephalic index (BPD / OFD) around 78;
- *dolichocephaly*: long and narrow, index 68-74 (breech and oligohydramnios
  moulding);
- *brachycephaly*: short and wide, index 85-92, a flattened occiput;
- *scaphocephaly*: long, narrow and keeled along the midline (early sagittal
  synostosis), index 62-70, with frontal bossing;
- *plagiocephaly*: one occipital quadrant flattened and the frontal bone on that side
  pushed forward (an oblique parallelogram seen from above).

The vault's height relative to the BPD varies (0.78-1.08 of the mean in-plane
semi-axis) as does the skull base (cut open below 60-90 % of its depth). The outline
is scaled to the drawn HC and centred in the canonical frame.
"""

from __future__ import annotations

import numpy as np

from ..vault import Sutures, Vault, centred, scaled, true_biometry
from .sizes import draw_sizes, ellipsoid_radius, tissues, unit

TYPES = {  # name: (share of heads, cephalic index range)
    "normocephaly": (0.40, (74.0, 83.0)),
    "dolichocephaly": (0.15, (68.0, 74.0)),
    "brachycephaly": (0.15, (85.0, 92.0)),
    "scaphocephaly": (0.10, (62.0, 70.0)),
    "plagiocephaly": (0.20, (76.0, 86.0)),
}


def draw(ga_weeks: float, rng: np.random.Generator) -> Vault:
    names = list(TYPES)
    kind = names[int(rng.choice(len(names), p=[TYPES[n][0] for n in names]))]
    sizes = draw_sizes(ga_weeks, rng)
    ci = rng.uniform(*TYPES[kind][1]) / 100.0
    # keep the mean in-plane radius of the drawn head, at the type's index
    mean = (sizes.bpd + sizes.ofd) / 4
    a = 2 * mean / (1 + ci)
    b = ci * a
    c_up = mean * rng.uniform(0.78, 1.08)
    c_down = c_up * rng.uniform(0.68, 0.85)
    flat = rng.uniform(0.06, 0.14)  # plagiocephaly's flattening, brachycephaly's occiput
    keel = rng.uniform(0.04, 0.09)  # scaphocephaly's ridge
    side = 1.0 if rng.uniform() < 0.5 else -1.0

    def level(z, y, x):
        r, uz, uy, ux = unit(z, y, x)
        radius = ellipsoid_radius(uz, uy, ux, b, a, a, c_up, c_down)
        if kind == "brachycephaly":
            radius = radius * (1 - flat * np.clip(-uy, 0, 1) ** 3)
        elif kind == "scaphocephaly":
            radius = radius * (1 + keel * np.exp(-((ux / 0.25) ** 2)) * np.clip(uz, 0, 1))
            radius = radius * (1 + 0.5 * keel * np.clip(uy, 0, 1) ** 4)  # frontal bossing
        elif kind == "plagiocephaly":
            back = np.clip(-uy, 0, 1) * np.clip(side * ux, 0, 1)  # one occipital quadrant
            front = np.clip(uy, 0, 1) * np.clip(side * ux, 0, 1)
            radius = radius * (1 - flat * 2.5 * back**2) * (1 + 0.6 * flat * front)
        return r - radius

    level = centred(scaled(level, sizes.hc / true_biometry(level, ga_weeks).hc_mm))
    thickness, scalp, suture = tissues(ga_weeks, rng)
    sutures = Sutures(
        coronal=(rng.uniform(0.38, 0.52), rng.uniform(0.05, 0.25)),
        lambdoid=(rng.uniform(0.48, 0.62), rng.uniform(0.30, 0.50)),
        squamosal=rng.uniform(-0.32, -0.18),
        fontanelle_scale=rng.uniform(0.8, 1.2),
        base_z=-rng.uniform(0.60, 0.90),
        base_tilt=rng.uniform(-0.1, 0.1),
    )
    params = {"type": kind, "cephalic_index": 100 * ci, "c_up_mm": c_up, "c_down_mm": c_down}
    return Vault("clinical", float(ga_weeks), level, thickness, scalp, suture, sutures, params)
