"""Label values of phantom volumes, in one place, with their acoustic properties.

``0`` is background / amniotic fluid and ``1`` is skull bone (docs/design.md, Conventions); the
other
integers are the brain landmarks that show in the standard planes. A bare boolean
skull mask is accepted wherever a label volume is: :func:`as_labels` turns it into
labels (skull -> BONE, its closed inside -> BRAIN with landmarks, :mod:`.mask_fill`).

Acoustic properties per label (docs/design.md, Facts): impedance Z in MRayl, attenuation in
dB/cm/MHz and a relative backscatter amplitude (speckle strength).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLUID = 0  #: background and amniotic fluid
BONE = 1  #: skull bone as 3D ultrasound shows it (bone plus its echo band)
BRAIN = 2  #: brain parenchyma
FALX = 3  #: midline falx cerebri (the midline echo)
CSP = 4  #: cavum septi pellucidi (fluid)
VENTRICLE = 5  #: lateral ventricles (CSF)
CHOROID = 6  #: choroid plexus inside the ventricular atria
THALAMUS = 7  #: thalami
SCALP = 8  #: scalp and soft tissue outside the skull
MEMBRANE = 9  #: sutures and fontanelles (fibrous membrane between bone plates)

NAMES: dict[int, str] = {
    FLUID: "fluid",
    BONE: "skull bone",
    BRAIN: "brain",
    FALX: "falx (midline)",
    CSP: "cavum septi pellucidi",
    VENTRICLE: "lateral ventricle",
    CHOROID: "choroid plexus",
    THALAMUS: "thalamus",
    SCALP: "scalp",
    MEMBRANE: "suture / fontanelle",
}


@dataclass(frozen=True)
class Acoustic:
    impedance: float  #: MRayl
    attenuation: float  #: dB / cm / MHz
    scatter: float  #: relative backscatter amplitude


ACOUSTIC: dict[int, Acoustic] = {
    FLUID: Acoustic(1.48, 0.002, 0.0015),
    BONE: Acoustic(4.6, 3.0, 0.9),  # fetal bone: less mineralised than adult (~6.5)
    BRAIN: Acoustic(1.58, 0.3, 0.24),
    FALX: Acoustic(2.0, 0.6, 0.30),
    CSP: Acoustic(1.50, 0.01, 0.003),
    VENTRICLE: Acoustic(1.50, 0.01, 0.003),
    CHOROID: Acoustic(1.70, 0.8, 0.55),
    THALAMUS: Acoustic(1.60, 0.3, 0.12),
    SCALP: Acoustic(1.65, 0.8, 0.30),
    MEMBRANE: Acoustic(1.66, 0.8, 0.22),
}

N_LABELS = max(ACOUSTIC) + 1


def property_table(name: str) -> np.ndarray:
    """Lookup array ``table[label] -> property`` for ``impedance``, ``attenuation``
    or ``scatter``."""
    table = np.zeros(256, np.float32)
    table[:] = getattr(ACOUSTIC[FLUID], name)
    for label, props in ACOUSTIC.items():
        table[label] = getattr(props, name)
    return table


def lookup(values: dict, fill: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Lookup array ``table[label] -> value`` from ``{label: value}`` (``fill`` for
    the labels it leaves out)."""
    table = np.full(N_LABELS, fill, dtype)
    for label, value in values.items():
        table[label] = value
    return table


def as_labels(labels_or_mask: np.ndarray, spacing_mm: float = 2.0) -> np.ndarray:
    """Return a uint8 label volume from a label volume or a boolean skull mask.

    A boolean mask (or a 0/1 volume of any dtype whose only values are 0 and 1) is
    the skull; its vault is closed over the sutures, fontanelles and the open base,
    and filled with brain and the standard planes' landmarks
    (:func:`~.mask_fill.fill_mask`; ``spacing_mm`` is its voxel size).
    """
    arr = np.asarray(labels_or_mask)
    if arr.ndim != 3:
        raise ValueError(f"expected a 3D label volume or skull mask, got shape {arr.shape}")
    if arr.dtype == bool or (arr.size and set(np.unique(arr)).issubset({0, 1})):
        from .mask_fill import fill_mask

        return fill_mask(arr.astype(bool), spacing_mm)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label volume must hold integers, got dtype {arr.dtype}")
    check_layout(arr)
    return arr.astype(np.uint8, copy=False)


def check_layout(labels: np.ndarray, need_skull: bool = False) -> None:
    """Refuse a label volume that is not in this project's layout (:data:`NAMES`).

    A volume from another labelling scheme (other integers; with ``need_skull``, no
    skull label: what a user's head volume must have) would otherwise be rendered with
    the wrong tissues: a silent wrong answer. The simulator itself renders volumes
    without bone (the shadow tests, the evaluation's other organs)."""
    values = np.unique(labels)
    unknown = [int(v) for v in values if v < 0 or v >= N_LABELS]
    if unknown:
        shown = ", ".join(str(v) for v in unknown[:6]) + (" ..." if len(unknown) > 6 else "")
        raise ValueError(
            f"the label volume holds values this project does not know ({shown}); labels must "
            f"follow its layout 0..{N_LABELS - 1} (0 fluid, 1 skull bone, 2 brain, ...; see "
            "docs/design.md) or be a boolean skull mask"
        )
    if need_skull and BONE not in values:
        raise ValueError(
            f"the label volume holds no skull (label {BONE}); pass a volume in this project's "
            "layout (docs/design.md) or a boolean skull mask"
        )


def head_mask(labels: np.ndarray) -> np.ndarray:
    """The head inside its skin: every label but fluid and scalp."""
    return (labels != FLUID) & (labels != SCALP)


def labels_on_plane(labels: np.ndarray, spacing_mm: float, pose) -> np.ndarray:
    """The labels at the pixel centres of plane ``pose`` (nearest voxel; fluid
    outside the volume), the plane's shape."""
    from scipy import ndimage

    idx = np.moveaxis(pose.points() / float(spacing_mm), -1, 0)
    return ndimage.map_coordinates(np.asarray(labels), idx, order=0, mode="constant", cval=FLUID)
