"""The second evaluation-only appearance: an image beamformed from simulated channel
data, focused where a point is, its skull ring bright and its fluid dark."""

import numpy as np

from napari_genmed import api
from napari_genmed.core.eval import beamformed as B
from napari_genmed.core.sim import labels as L


def test_delay_and_sum_focuses_a_point_where_it_is():
    probe = B.BeamformedProbe()
    zs, xs = np.array([60.0]), np.array([15.0])
    channels = B._channel_data(zs, xs, np.ones(1), probe, 128.0, np.random.default_rng(0))
    z, x = np.meshgrid(np.arange(40, 80, 0.25), np.arange(-5, 35, 0.25), indexing="ij")
    image = np.abs(B._delay_and_sum(channels, z, x, probe))
    i, j = np.unravel_index(np.argmax(image), image.shape)
    assert abs(z[i, j] - 60.0) <= 0.25 and abs(x[i, j] - 15.0) <= 0.25
    # a millimetre-wide spot: 5 mm aside the echo is down by more than 30 dB
    assert image[i, j + 20] < image[i, j] * 10 ** (-30 / 20)


def test_a_beamformed_view_shows_the_skull_bright_and_the_fluid_dark():
    ph = api.make_phantom(28.0, 4)
    view = api.simulate_views(ph, seed=4)["axial"]
    image = B.beamformed_view(ph.labels, ph.spacing_mm, view.pose, seed=1)
    assert image.shape == (128, 128) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert np.array_equal(image, B.beamformed_view(ph.labels, ph.spacing_mm, view.pose, seed=1))
    lab = L.labels_on_plane(ph.labels, ph.spacing_mm, view.pose)
    rows, cols = np.indices(lab.shape)
    inside = np.abs(np.arctan2(cols - 63.5, rows + 0.5 + 60.0)) < np.deg2rad(28)
    inside &= rows > 12  # below the maternal wall
    bone = np.percentile(image[(lab == L.BONE) & inside], 90)
    fluid = np.median(image[(lab == L.FLUID) & inside])
    brain = np.median(image[(lab == L.BRAIN) & inside])
    assert bone > brain > fluid and bone - fluid > 0.4
    assert image[0, 0] == 0 and image[-1, 0] == 0  # outside the sector
    # not the project's own rendering under another name
    assert abs(np.corrcoef(image.ravel(), np.asarray(view.image).ravel())[0, 1]) < 0.9
