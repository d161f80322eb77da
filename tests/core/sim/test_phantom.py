import numpy as np
import pytest

from napari_genmed.core.sim import biometry as bio
from napari_genmed.core.sim import labels as L
from napari_genmed.core.sim.phantom import make_phantom


def test_biometry_is_consistent_with_its_ellipse():
    for seed in range(12):
        for ga in (16.0, 22.0, 30.0, 38.0):
            b = make_phantom(ga, seed, (16, 16, 16), 8.0).biometry
            assert bio.ramanujan_perimeter(b.bpd_mm, b.ofd_mm) == pytest.approx(b.hc_mm, rel=0.02)
            assert 70 < b.cephalic_index < 90


@pytest.mark.parametrize("ga", [20.0, 28.0, 36.0])
def test_mean_sizes_over_many_seeds_follow_intergrowth(ga):
    heads = [make_phantom(ga, seed, (16, 16, 16), 8.0).biometry for seed in range(60)]
    for attr, mean, sd in (
        ("hc_mm", bio.hc_mean, bio.hc_sd),
        ("bpd_mm", bio.bpd_mean, bio.bpd_sd),
        ("ofd_mm", bio.ofd_mean, bio.ofd_sd),
    ):
        values = np.array([getattr(h, attr) for h in heads])
        assert abs(values.mean() - mean(ga)) < sd(ga), attr
        assert values.std() < 1.5 * sd(ga), attr  # variation within the published SD
        assert values.std() > 0.2 * sd(ga), attr  # and there is variation


def test_reproducible_from_seed_and_ga():
    a, b = make_phantom(25.0, 3), make_phantom(25.0, 3)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, make_phantom(25.0, 4).labels)
    assert not np.array_equal(a.labels, make_phantom(26.0, 3).labels)


def test_labels_and_skull(phantom28):
    lab = phantom28.labels
    assert lab.shape == (64, 64, 64) and lab.dtype == np.uint8 and phantom28.spacing_mm == 2.0
    assert set(np.unique(lab)) == set(L.NAMES)  # every structure is drawn
    assert np.array_equal(phantom28.skull, lab == L.BONE)


def test_orientation_conventions(phantom28):
    """Forehead at high y, biparietal along x, vertex at high z (docs/design.md, Conventions)."""
    lab, h = phantom28.labels, phantom28.spacing_mm
    c = np.array(lab.shape) // 2
    csp = np.argwhere(lab == L.CSP).mean(0)
    choroid = np.argwhere(lab == L.CHOROID).mean(0)
    assert csp[1] > c[1] + 5 and choroid[1] < c[1] - 5  # CSP anterior, atria posterior
    head = np.argwhere((lab != L.FLUID) & (lab != L.SCALP))
    assert head[:, 0].max() - c[0] > c[0] - head[:, 0].min()  # vault above, base below
    axial = (lab[c[0]] != L.FLUID) & (lab[c[0]] != L.SCALP)
    ys, xs = np.nonzero(axial)
    b = phantom28.biometry
    assert (xs.max() - xs.min() + 1) * h == pytest.approx(b.bpd_mm, abs=2 * h)
    assert (ys.max() - ys.min() + 1) * h == pytest.approx(b.ofd_mm, abs=2 * h)
    assert abs(head[:, 1].mean() - c[1]) < 4 and abs(head[:, 2].mean() - c[2]) < 1.5  # centred


def test_skull_band_is_at_least_two_voxels_and_grows_with_ga():
    for ga in (16.0, 38.0):
        lab = make_phantom(ga, 1).labels
        c = np.array(lab.shape) // 2
        # biparietal, and occipito-frontal beside the midline (the midline itself is the metopic
        # suture)
        for line in (lab[c[0], c[1], :], lab[c[0], :, c[2] + 4]):
            bone = np.flatnonzero(line == L.BONE)
            runs = np.split(bone, np.flatnonzero(np.diff(bone) > 1) + 1)
            assert len(runs) == 2 and all(len(r) >= 2 for r in runs)
    thick = []
    for ga in (16.0, 38.0):
        lab = make_phantom(ga, 1, (128, 128, 128), 1.0).labels
        line = lab[64, 64, :]
        bone = np.flatnonzero(line == L.BONE)
        thick.append(np.sum(bone < 64))
    assert 3 <= thick[0] <= 5 and 4 <= thick[1] <= 6 and thick[1] > thick[0]


def test_sutures_and_fontanelles():
    young, older = (
        make_phantom(16.0, 2, (128, 128, 128), 1.0),
        make_phantom(26.0, 2, (128, 128, 128), 1.0),
    )
    for ph in (young, older):
        top = ph.labels[64 + int(0.5 * ph.shape_params.c_up) :]  # vault well above the equator
        assert (top == L.MEMBRANE).sum() > 50  # sagittal suture and anterior fontanelle
        band = (ph.labels == L.BONE) | (ph.labels == L.MEMBRANE)
        assert 0.03 < (ph.labels == L.MEMBRANE).sum() / band.sum() < 0.3

    # the anterior fontanelle (a diamond at the vertex, in front of the centre) grows until ~26
    # weeks
    def af_area_mm2(ph):
        sh, c = ph.shape_params, 64
        y0, z0 = c + int(0.45 * sh.a_front), c + int(0.6 * sh.c_up)
        box = ph.labels[z0:, y0 - 12 : y0 + 12, c - 12 : c + 13] == L.MEMBRANE
        return box.any(axis=0).sum()  # seen from above, 1 mm pixels

    assert af_area_mm2(older) > 1.5 * af_area_mm2(young)


def test_any_grid():
    ph = make_phantom(30.0, 0, (40, 56, 48), 2.5)
    assert ph.labels.shape == (40, 56, 48)
    assert ph.skull.sum() > 500


@pytest.mark.parametrize(
    "bad", [dict(ga_weeks=12.0), dict(ga_weeks=41.0), dict(shape=(4, 64, 64)), dict(spacing_mm=0.0)]
)
def test_bad_arguments(bad):
    kwargs = dict(ga_weeks=28.0, seed=0, shape=(64, 64, 64), spacing_mm=2.0) | bad
    with pytest.raises(ValueError):
        make_phantom(**kwargs)
