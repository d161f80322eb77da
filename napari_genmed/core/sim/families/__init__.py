"""Shape families: structurally different generators of fetal heads, all in one
canonical frame (:mod:`..frame`) with the standard planes' landmarks.

- ``phantom``: the original procedural head (:mod:`..phantom`), an egg with low-order
  polynomial shape noise;
- ``harmonic``: an egg times random spherical harmonics of degree 2-5
  (:mod:`.harmonic`);
- ``clinical``: named cranial shapes, normo-, dolicho-, brachy-, scapho- and
  plagiocephaly (:mod:`.clinical`);
- ``deformed``: a superellipsoid under a free-form deformation (:mod:`.deformed`),
  **held out**: written for evaluation only, never in a training split.

The families beyond the phantom share the vault rasteriser (:mod:`..vault`), with an
open, planar skull base and suture geometry of their own. :func:`make_head` makes a
head of any family as a :class:`~..phantom.Phantom`.
"""

from __future__ import annotations

FAMILIES = ("phantom", "harmonic", "clinical", "deformed")
TRAINING = ("phantom", "harmonic", "clinical")  #: may appear in training splits
HELD_OUT = ("deformed",)  #: for evaluation only
_SALT = {"harmonic": 101, "clinical": 202, "deformed": 303}  #: a family's own random streams


def check_family(name: str) -> str:
    if name not in FAMILIES:
        raise ValueError(f"unknown shape family {name!r}; the families are {', '.join(FAMILIES)}")
    return name


def make_head(family: str, ga_weeks: float, seed: int, shape=(64, 64, 64), spacing_mm: float = 2.0):
    """A head of shape ``family`` at ``ga_weeks`` (16-38), reproducible from
    ``(family, seed, ga_weeks)``, on a grid whose canonical centre is voxel n // 2: a
    :class:`~..phantom.Phantom`. The family modules are imported here, so that the
    names above cost nothing to import (the command line reads them at start-up)."""
    import numpy as np

    from .. import biometry as bio
    from ..phantom import Phantom, make_phantom
    from ..vault import rasterise_vault, true_biometry
    from . import clinical, deformed, harmonic

    check_family(family)
    if family == "phantom":
        return make_phantom(ga_weeks, seed, shape, spacing_mm)
    if not (np.isfinite(ga_weeks) and bio.GA_MIN - 1e-9 <= ga_weeks <= bio.GA_MAX + 1e-9):
        raise ValueError(
            f"gestational age must lie in {bio.GA_MIN:g}-{bio.GA_MAX:g} weeks, got {ga_weeks}"
        )
    shape = tuple(int(s) for s in shape)
    rng = np.random.default_rng(
        [int(seed) & 0xFFFFFFFF, int(round(float(ga_weeks) * 1000)), _SALT[family]]
    )
    draw = {"harmonic": harmonic.draw, "clinical": clinical.draw, "deformed": deformed.draw}[family]
    vault = draw(float(ga_weeks), rng)
    labels = rasterise_vault(vault, shape, spacing_mm)
    return Phantom(
        labels=labels,
        spacing_mm=float(spacing_mm),
        biometry=true_biometry(vault.level, ga_weeks),
        shape_params=vault,
        seed=int(seed),
        family=family,
    )
