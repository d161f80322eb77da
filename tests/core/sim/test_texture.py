"""A B-mode sample around an expected image: speckle with the renderer's physics,
the mean echo kept, black kept, seeded."""

import numpy as np
import pytest

from napari_genmed import api
from napari_genmed.core.metrics.structure import hf_energy
from napari_genmed.core.sim.texture import FINE_MM, axial_kernel, bmode_sample
from napari_genmed.core.sim.ultrasound import Probe


def test_a_sample_keeps_the_mean_echo_and_the_black():
    expected = np.full((128, 128), 0.7, np.float32)
    expected[:, :20] = 0.0  # outside the fan
    out = bmode_sample(expected, 1.0, seed=3)
    assert out.shape == expected.shape and out.dtype == np.float32
    assert (out[:, :20] == 0).all() and out.min() >= 0 and out.max() <= 1
    dr = Probe().dynamic_range_db
    intensity = 10 ** ((out[:, 20:].astype(float) - 1) * dr / 10)  # back to echo intensity
    assert intensity.mean() == pytest.approx(10 ** ((0.7 - 1) * dr / 10), rel=0.1)
    assert out[:, 20:].std() > 0.03  # speckled, not flat
    assert np.array_equal(out, bmode_sample(expected, 1.0, seed=3))
    assert not np.array_equal(out, bmode_sample(expected, 1.0, seed=4))


def test_texture_on_the_renderer_s_expected_image_is_speckle_like_the_renderer_s():
    from scipy import ndimage

    from napari_genmed.core.sim import labels as L

    ph = api.make_phantom(28.0, 2)
    clean = api.simulate_views(ph, seed=2, speckle=False)["axial"]
    speckled = api.simulate_views(ph, seed=2)["axial"].image
    lab = L.labels_on_plane(ph.labels, ph.spacing_mm, clean.pose)
    brain = ndimage.binary_erosion(lab == L.BRAIN, iterations=3)  # diffuse echoes only
    textured = bmode_sample(clean.image, 1.0, 2)
    assert hf_energy(clean.image, brain) < 0.3 * hf_energy(speckled, brain)
    assert 0.8 < hf_energy(textured, brain) / hf_energy(speckled, brain) < 1.5
    assert textured[brain].std() == pytest.approx(speckled[brain].std(), rel=0.2)


@pytest.mark.parametrize("spacing_mm", [0.5, 1.0, 2.0, 3.0])
def test_noise_drawn_on_the_pixels_has_the_law_of_the_fine_rows_sampled(spacing_mm):
    """The pulse drawn on the pixels (axial_kernel) against the construction it stands
    for: white noise on rows of FINE_MM or less, blurred by the pulse, kept at the
    pixels' centres. Same covariance at every lag, exactly and as measured."""
    from scipy import ndimage

    sigma = Probe().axial_sigma_mm
    f = int(np.ceil(spacing_mm / FINE_MM))
    rng = np.random.default_rng(0)
    fine = ndimage.gaussian_filter1d(
        rng.standard_normal((64, 96 * f, 64)), sigma / (spacing_mm / f), axis=1
    )[:, f // 2 :: f]
    h = axial_kernel(spacing_mm, sigma).astype(float)
    drawn = ndimage.correlate1d(rng.standard_normal((64, 96, 64)), h, axis=1)

    def covariance(x, lag):  # along the rows, away from the edges
        x = x[:, 8:-8]
        return (x[:, : x.shape[1] - lag] * x[:, lag:]).mean()

    exact = np.correlate(h, h, "full")[len(h) - 1 :]  # the filter's own autocorrelation
    for lag in range(4):
        reference = covariance(fine, lag)
        assert covariance(drawn, lag) == pytest.approx(reference, abs=0.02 * covariance(fine, 0))
        if lag < len(exact):
            assert exact[lag] == pytest.approx(reference, abs=0.02 * covariance(fine, 0))
    # a wrong filter is caught: the pulse twice as long correlates the pixels more
    wider = ndimage.correlate1d(
        rng.standard_normal((64, 96, 64)), axial_kernel(spacing_mm, 2 * sigma), axis=1
    )
    assert (
        covariance(wider, 1) / covariance(wider, 0)
        > covariance(fine, 1) / covariance(fine, 0) + 0.1
    )


def test_bad_expected_images_are_refused():
    with pytest.raises(ValueError, match="2D"):
        bmode_sample(np.zeros((4, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        bmode_sample(np.full((8, 8), np.nan), 1.0)
