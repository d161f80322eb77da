"""Acquired view files as the models take them: pydicom's real ultrasound files, the
calibrated region, drawn-on pixels (colour, overlay planes, calipers), cine frames and
NIfTI slices."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from napari_genmed.core.io.acquired import (
    drawn_pixels,
    fill,
    read_acquisition,
    thin_marks,
    view_of,
)

from .test_dicom import _testdata


def test_the_simulated_planes_have_no_marks_to_mask():
    """A skull echo is as bright as a caliper but thick: nothing of the project's own
    planes is taken for a burned-in mark."""
    from napari_genmed import api

    for ga, seed in ((18, 0), (27, 1), (36, 2)):
        for view in api.simulate_views(api.make_phantom(ga, seed)).values():
            assert not thin_marks(np.asarray(view.image)).any()


def test_calipers_and_colour_are_filled_and_nothing_else_changes():
    acq = read_acquisition(_testdata("examples_palette.dcm"))  # an obstetric frame, calipers
    drawn = drawn_pixels(acq, 0)
    image, mm = view_of(acq, 0)
    assert mm == pytest.approx(0.26228788)
    assert np.array_equal(image[~drawn], acq.frames[0][~drawn])  # echoes untouched
    caliper = np.s_[284:309, 453:506]  # the caliper pair and its dotted line (under the head)
    assert drawn[caliper].any() and image[caliper].max() < acq.frames[0][caliper].max() - 0.3
    assert any("lies outside" in w for w in acq.warnings)  # its region is not its pixels


def test_a_filled_hole_takes_its_surroundings():
    image = np.full((40, 40), 0.3, np.float32)
    image[20, :] = 1.0  # a line drawn across
    out = fill(image, image > 0.9)
    assert np.allclose(out, 0.3, atol=1e-4)


def test_cropped_to_the_calibrated_region(tmp_path):
    ds = pydicom.dcmread(_testdata("examples_palette.dcm"))
    region = ds.SequenceOfUltrasoundRegions[0]
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 150, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 650, 300
    ds.save_as(tmp_path / "cropped.dcm")
    acq = read_acquisition(tmp_path / "cropped.dcm")
    assert acq.region == (40, 150, 301, 651) and not acq.warnings
    image, _ = view_of(acq, 0)
    assert image.shape == (261, 501)


def test_overlay_planes_are_drawn_pixels(tmp_path):
    from pydicom.pixels import pack_bits

    ds = pydicom.dcmread(_testdata("examples_rgb_color.dcm"))
    plane = np.zeros((ds.Rows, ds.Columns), np.uint8)
    plane[100:103, 50:250] = 1  # a measurement line as an overlay plane
    for tag, vr, value in (
        (0x60000010, "US", ds.Rows),
        (0x60000011, "US", ds.Columns),
        (0x60000040, "CS", "G"),
        (0x60000050, "SS", [1, 1]),
        (0x60000100, "US", 1),
        (0x60000102, "US", 0),
        (0x60003000, "OW", pack_bits(plane)),
    ):
        ds.add_new(tag, vr, value)
    ds.save_as(tmp_path / "overlay.dcm")
    acq = read_acquisition(tmp_path / "overlay.dcm")
    assert drawn_pixels(acq, 0)[100:103, 50:250].all()


def test_a_cine_gives_its_most_plausible_frame():
    from pydicom.pixels import get_decoder

    from napari_genmed.api import load_model
    from napari_genmed.core.tasks.plausibility import assess_view, best_frame

    path = _testdata("examples_ybr_color.dcm")
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if not get_decoder(ts).is_available:
        pytest.fail("the project installs a JPEG decoder (Pillow): the cine must decode")
    acq = read_acquisition(path)
    assert acq.n_frames == 30
    gate = load_model("plane-gate", "cpu")
    k, scores = best_frame(acq, gate, "axial")
    assert scores.shape == (30,) and scores[k] == scores.max()
    assert assess_view(gate, view_of(acq, k), "axial").score == pytest.approx(scores[k])
    with pytest.raises(ValueError, match="30 frame"):
        view_of(acq, 30)


def test_a_nifti_slice_is_a_view_and_a_volume_is_not(tmp_path):
    from napari_genmed.core.io.nifti import write_nifti

    image = np.random.default_rng(0).random((1, 50, 60)).astype(np.float32)
    write_nifti(tmp_path / "axial.nii.gz", image, (2.0, 0.5, 0.5))
    acq = read_acquisition(tmp_path / "axial.nii.gz")
    assert acq.frames.shape == (1, 50, 60) and acq.spacing_mm == pytest.approx(0.5)
    write_nifti(tmp_path / "volume.nii.gz", np.zeros((4, 5, 6), np.float32))
    with pytest.raises(ValueError, match="not a slice"):
        read_acquisition(tmp_path / "volume.nii.gz")
    with pytest.raises(ValueError, match="not a DICOM"):
        read_acquisition(tmp_path / "notes.txt")
