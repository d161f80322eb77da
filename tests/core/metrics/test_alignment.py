"""The frame-free scores: Dice after the best rigid alignment, normalised surface
Dice, extents; each on skulls moved by a known motion."""

import numpy as np
import pytest

from napari_genmed.core.metrics.alignment import (
    _about_centre,
    aligned,
    aligned_dice,
    extents_mm,
    normalised_surface_dice,
    rigid_alignment,
)
from napari_genmed.core.metrics.overlap import overlap
from napari_genmed.core.sim.geometry import rotation_matrix
from napari_genmed.core.sim.phantom import make_phantom


@pytest.fixture(scope="module")
def skull():
    return make_phantom(30.0, 4).skull


def _moved(skull, degrees, shift_vox):
    r = rotation_matrix((0.3, 1.0, 0.2), np.radians(degrees))
    return np.roll(_about_centre(skull.astype(np.float32), r), shift_vox, axis=(0, 1, 2)), r


def test_alignment_recovers_a_known_motion(skull):
    moved, r = _moved(skull, 5.0, (2, -3, 2))
    assert overlap(moved > 0.5, skull)["dice"] < 0.5  # raw Dice: a frame offset ruins it
    rotation, shift = rigid_alignment(moved, skull)
    assert np.array_equal(shift, [-2, 3, -2])
    assert aligned_dice(moved, skull) > 0.85
    assert overlap(aligned(moved, rotation, shift) > 0.5, skull)["dice"] == pytest.approx(
        aligned_dice(moved, skull)
    )


def test_alignment_cannot_fix_a_wrong_shape(skull):
    other = make_phantom(30.0, 77).skull  # another head of the same age
    wrong = aligned_dice(other.astype(np.float32), skull)
    assert aligned_dice(skull.astype(np.float32), skull) == pytest.approx(1.0)
    assert wrong < 0.9


def test_surface_dice_has_a_tolerance(skull):
    assert normalised_surface_dice(skull, skull, 2.0) == 1.0
    one_voxel = np.roll(skull, 1, axis=2)  # 2 mm
    assert normalised_surface_dice(one_voxel, skull, 2.0, tolerance_mm=2.0) == 1.0
    assert normalised_surface_dice(np.roll(skull, 3, axis=2), skull, 2.0, tolerance_mm=2.0) < 0.6
    assert normalised_surface_dice(np.zeros_like(skull), skull, 2.0) == 0.0


def test_extents(skull):
    ext = extents_mm(skull, 2.0)
    assert ext.shape == (3,) and np.all(ext > 40)
    assert np.allclose(extents_mm(np.roll(skull, 2, axis=1), 2.0), ext)
    assert np.array_equal(extents_mm(np.zeros_like(skull)), np.zeros(3))
