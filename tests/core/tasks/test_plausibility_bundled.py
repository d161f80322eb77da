"""The bundled plane gate on real files and on what is not a fetal head: verdicts,
and biometry withheld (or shown on override) in a reconstruction."""

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from napari_genmed import api
from napari_genmed.core.io.dicom import read_dicom


@pytest.fixture(scope="module")
def views():
    return api.simulate_views(api.make_phantom(27.0, 3).labels, seed=3)


def test_standard_planes_pass_and_a_plane_in_the_wrong_slot_does_not(views):
    for name, view in views.items():
        got = api.plausibility(view, name)
        assert got.plausible and got.looks_like == name, got
    wrong = api.plausibility(views["axial"], "coronal")
    assert not wrong.plausible and wrong.score < 0.05
    best = api.plausibility(views["sagittal"])  # unassigned: the plane it fits best
    assert best.slot is None and best.plane == "sagittal"


@pytest.mark.parametrize(
    "name", ["examples_ybr_color.dcm", "examples_palette.dcm", "examples_rgb_color.dcm"]
)
def test_real_ultrasound_that_is_no_fetal_head_is_flagged(name):
    image = read_dicom(get_testdata_file(name))
    frame = image.data[0] if image.data.ndim == 3 else image.data
    view = (frame, float(np.mean(image.pixel_spacing_mm)))
    for slot in api.VIEW_NAMES:
        got = api.plausibility(view, slot)
        assert got.verdict == "not a fetal head plane", (name, slot, got)
        assert "unlike any fetal-head" in got.reason


def test_a_reconstruction_on_noise_withholds_biometry_unless_overridden(views):
    model = api.load_model("tl-net", "cpu")
    noise = np.random.default_rng(0).uniform(size=(128, 128))
    given = {"axial": noise, "sagittal": views["sagittal"]}
    held = api.reconstruct(model, given)
    assert held.plausibility["axial"].implausible and held.plausibility["sagittal"].plausible
    assert (
        "bpd_mm" not in held.measurements and "axial view is not" in held.measurements["withheld"]
    )
    assert "withheld" in held.recut(0.4).measurements  # a new threshold keeps it withheld
    shown = api.reconstruct(model, given, allow_implausible=True)
    assert shown.override and "bpd_mm" in shown.measurements and shown.withheld() is None
    np.testing.assert_array_equal(held.probability, shown.probability)
    unchecked = api.reconstruct(model, given, check=False)
    assert unchecked.plausibility == {} and "bpd_mm" in unchecked.measurements
