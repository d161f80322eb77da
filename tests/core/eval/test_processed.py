"""The third evaluation-only appearance: resolution-cell speckle through a scanner's
display chain; its skull brightest where it faces the probe, its fluid dark."""

import numpy as np

from napari_genmed import api
from napari_genmed.core.eval import processed as P
from napari_genmed.core.eval.appearance import held_out_appearances
from napari_genmed.core.sim import labels as L


def test_a_processed_view_shows_the_skull_by_incidence_and_the_fluid_dark():
    ph = api.make_phantom(28.0, 4)
    view = api.simulate_views(ph, seed=4)["axial"]
    image = P.processed_view(ph.labels, ph.spacing_mm, view.pose, seed=1)
    assert image.shape == (128, 128) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert np.array_equal(image, P.processed_view(ph.labels, ph.spacing_mm, view.pose, seed=1))
    assert not np.array_equal(image, P.processed_view(ph.labels, ph.spacing_mm, view.pose, seed=2))
    lab = L.labels_on_plane(ph.labels, ph.spacing_mm, view.pose)
    rows, cols = np.nonzero(lab == L.BONE)
    angle = np.degrees(np.arctan2(cols - cols.mean(), rows - rows.mean()))
    facing = np.abs(angle) > 150  # the skull's near side, facing the probe
    side = (np.abs(angle) > 60) & (np.abs(angle) < 120)  # along the beam
    near, along = image[rows[facing], cols[facing]].mean(), image[rows[side], cols[side]].mean()
    assert near > along + 0.2
    below_wall = np.arange(128)[:, None] > 20
    fluid = np.median(image[(lab == L.FLUID) & below_wall])
    brain = np.median(image[lab == L.BRAIN])
    assert near > brain > fluid and near - fluid > 0.6
    assert image[-1, 0] == 0 and image[-1, -1] == 0  # outside the sector
    assert abs(np.corrcoef(image.ravel(), np.asarray(view.image).ravel())[0, 1]) < 0.9
    assert "processed" in held_out_appearances()
