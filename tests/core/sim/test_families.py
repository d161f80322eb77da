"""Every shape family: sizes from the growth charts, the canonical frame, the
standard planes' landmarks, reproducible heads, and one family kept for evaluation."""

import numpy as np
import pytest

from napari_genmed.core.sim import biometry as bio
from napari_genmed.core.sim import labels as L
from napari_genmed.core.sim.families import FAMILIES, HELD_OUT, TRAINING, make_head
from napari_genmed.core.sim.frame import canonical_centre, grid_centre_mm

AGES = (17.0, 24.0, 31.0, 37.5)


@pytest.fixture(scope="module", params=FAMILIES)
def heads(request):
    return request.param, [make_head(request.param, ga, 50 + k) for k, ga in enumerate(AGES)]


def test_sizes_follow_the_growth_charts(heads):
    family, made = heads
    for head in made:
        b, ga = head.biometry, head.biometry.ga_weeks
        hc_z = (b.hc_mm - bio.hc_mean(ga)) / bio.hc_sd(ga)
        bpd_z = (b.bpd_mm - bio.bpd_mean(ga)) / bio.bpd_sd(ga)
        ofd_z = (b.ofd_mm - bio.ofd_mean(ga)) / bio.ofd_sd(ga)
        assert abs(hc_z) <= 2.5, (family, ga, hc_z)
        # the clinical family's dolicho- and scaphocephaly are narrow by definition
        assert max(abs(bpd_z), abs(ofd_z)) <= (5.0 if family == "clinical" else 2.5), (family, ga)
        assert head.family == family and head.labels.dtype == np.uint8


def test_heads_sit_in_the_canonical_frame(heads):
    """docs/design.md: the widest axial section, the widest x chord, its midpoint, at
    voxel n // 2 (to within a voxel)."""
    family, made = heads
    for head in made:
        offset = canonical_centre(L.head_mask(head.labels), head.spacing_mm) - grid_centre_mm(
            head.labels.shape, head.spacing_mm
        )
        assert np.all(np.abs(offset) <= head.spacing_mm), (family, offset)


def test_the_standard_planes_landmarks_are_there(heads):
    family, made = heads
    for head in made[1:]:  # at 17 weeks the ~3 mm thalami may fall between 2 mm voxels
        for landmark in (L.FALX, L.CSP, L.VENTRICLE, L.CHOROID, L.THALAMUS):
            assert (head.labels == landmark).any(), (family, L.NAMES[landmark])
        skull = head.labels == L.BONE
        inside = L.head_mask(head.labels) & ~skull
        assert skull.sum() > 1000 and inside.sum() > skull.sum()


def test_a_family_repeats_and_families_differ():
    a = make_head("harmonic", 28.0, 9)
    assert np.array_equal(a.labels, make_head("harmonic", 28.0, 9).labels)
    assert not np.array_equal(a.labels, make_head("harmonic", 28.0, 10).labels)
    assert not np.array_equal(a.labels, make_head("clinical", 28.0, 9).labels)
    assert a.metadata()["family"] == "harmonic" and "coefficients" in a.metadata()["head"]


def test_the_held_out_family_is_not_a_training_family():
    assert (
        set(HELD_OUT)
        and not set(HELD_OUT) & set(TRAINING)
        and set(TRAINING) | set(HELD_OUT) == set(FAMILIES)
    )
    with pytest.raises(ValueError, match="unknown shape family"):
        make_head("spherical cow", 28.0, 0)
    with pytest.raises(ValueError, match="gestational age"):
        make_head("deformed", 45.0, 0)
