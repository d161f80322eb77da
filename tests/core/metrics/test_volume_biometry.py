"""Biometry is refused on a skull that is not a closed vault (fragments the convex
hull would close into a plausible head)."""

import numpy as np
import pytest

from napari_genmed.core.metrics.volume_biometry import CLOSED_VAULT, measure
from napari_genmed.core.sim.phantom import make_phantom


def test_a_phantom_skull_is_measured_and_its_fragments_are_not():
    skull = make_phantom(28.0, 3).skull.astype(np.float32)
    m = measure(skull, 2.0)
    assert 60 < m["bpd_mm"] < 90 and m["ga_hadlock_weeks"] > 20
    # keep two opposite quarter-sectors of the vault: the hull would still give a head
    z, y, x = np.indices(skull.shape) - np.array(skull.shape)[:, None, None, None] // 2
    angle = np.degrees(np.arctan2(y, x))
    fragments = skull * ((np.abs(angle) < 45) | (np.abs(angle) > 135))
    with pytest.raises(ValueError, match="not a closed vault"):
        measure(fragments, 2.0)
    assert 0.5 < CLOSED_VAULT < 0.94  # between fragments and the phantoms' open skull base
