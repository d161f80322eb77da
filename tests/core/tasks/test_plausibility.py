"""The verdicts from the gate's numbers, each branch."""

import numpy as np

from napari_genmed.core.tasks.plausibility import (
    DOUBTFUL,
    IMPLAUSIBLE,
    P_IMPLAUSIBLE,
    PLAUSIBLE,
    _verdict,
)

SURE_AXIAL = np.array([0.95, 0.02, 0.02, 0.01])


def test_a_typical_view_is_plausible():
    v = _verdict("axial", "axial", 0.4, SURE_AXIAL)
    assert v.verdict == PLAUSIBLE and v.plausible and "typical axial" in v.reason


def test_a_rare_view_is_not_a_head_plane():
    rare = _verdict("axial", "axial", P_IMPLAUSIBLE * 1.5, SURE_AXIAL)
    assert rare.verdict == PLAUSIBLE and "about 2 in 100" in rare.reason
    never = _verdict("axial", "axial", P_IMPLAUSIBLE / 2, SURE_AXIAL)
    assert never.verdict == IMPLAUSIBLE and never.implausible
    assert "fewer than 1 in 100" in never.reason


def test_a_view_that_looks_like_another_plane_is_doubtful():
    sagittal = _verdict("axial", "axial", 0.5, np.array([0.05, 0.9, 0.03, 0.02]))
    assert sagittal.verdict == DOUBTFUL and "looks like a sagittal plane" in sagittal.reason
    off = _verdict("coronal", "coronal", 0.5, np.array([0.05, 0.05, 0.05, 0.85]))
    assert off.verdict == DOUBTFUL and "off the standard ones" in off.reason
    unsure = _verdict("axial", "axial", 0.5, np.array([0.3, 0.6, 0.05, 0.05]))
    assert unsure.verdict == PLAUSIBLE  # the classifier is not sure enough to object
