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


def test_a_latent_move_from_the_same_views_keeps_their_verdicts(views):
    from napari_genmed.core.tasks.latent import latent_reconstruction
    from napari_genmed.core.tasks.reconstruct import BIOMETRY_KEYS

    model = api.load_model("tl-net", "cpu")
    noise = np.random.default_rng(1).uniform(size=(128, 128))
    held = api.reconstruct(model, {"axial": noise, "sagittal": views["sagittal"]})
    state = api.LatentState(model, api.latent_directions(model), {"axial": noise})
    moved = latent_reconstruction(model, state.z, state.condition, ("axial",), 0.5)
    assert "bpd_mm" in moved.measurements or "withheld" not in moved.measurements
    judged = moved.judged(held.plausibility, held.override)
    assert set(judged.plausibility) == {"axial"}  # only the views it was decoded from
    assert not set(BIOMETRY_KEYS) & set(judged.measurements) and judged.withheld()
    shown = moved.judged(held.plausibility, override=True)
    assert shown.measurements == moved.measurements and shown.override


def test_views_of_distinct_slots_get_the_same_verdicts_in_one_pass():
    """The side-by-side pass (a reconstruction's three views through their encoders at
    once) gives what three single passes give."""
    from napari_genmed import api
    from napari_genmed.core.tasks.plausibility import assess_prepared
    from napari_genmed.core.tasks.viewprep import prepare_views

    gate = api.load_model("plane-gate", "cpu")
    views = api.simulate_views(api.make_phantom(24.0, 3), seed=3)
    views["coronal"] = (np.random.default_rng(0).uniform(size=(128, 128)), 1.0)  # refused
    images, _ = prepare_views(views, 128, 1.0)
    together = assess_prepared(gate, images, list(views))
    alone = [assess_prepared(gate, images[i : i + 1], [n])[0] for i, n in enumerate(views)]
    assert [p.verdict for p in together] == [p.verdict for p in alone]
    assert together[2].implausible
    assert np.allclose([p.score for p in together], [p.score for p in alone])
