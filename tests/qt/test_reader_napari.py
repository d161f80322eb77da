"""The npe2 reader and writer inside a real napari viewer."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as imageio
import numpy as np
import pydicom
import pytest

from napari_genmed._reader import get_reader
from napari_genmed.core.io.nifti import read_nifti, write_nifti

PLUGIN = "napari-genmed"
US_DICOM = Path(pydicom.__file__).parent / "data" / "test_files" / "examples_palette.dcm"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    labels = np.zeros((6, 7, 8), np.uint8)
    labels[1:4, 2:5, 3:7] = 1
    labels[5, 6, 7] = 2
    image = np.random.default_rng(0).random((6, 7, 8)).astype(np.float32)
    png = (np.arange(20 * 30).reshape(20, 30) % 256).astype(np.uint8)
    imageio.imwrite(tmp_path / "frame.png", png)
    bad = tmp_path / "bad.nii"
    bad.write_bytes(write_nifti(tmp_path / "whole.nii", image).read_bytes()[:600])
    return {
        "labels": write_nifti(tmp_path / "skull.nii.gz", labels, (2.0, 1.5, 1.0)),
        "image": write_nifti(tmp_path / "head.nii", image, (1.0, 2.0, 3.0)),
        "png": tmp_path / "frame.png",
        "bad": bad,
    }


def test_get_reader_by_suffix(tmp_path: Path) -> None:
    for name in ("a.nii", "a.NII.GZ", "a.dcm", "a.dicom", "a.png", "a.tif", "a.tiff"):
        assert callable(get_reader(str(tmp_path / name)))
    assert callable(get_reader([str(tmp_path / "a.nii")]))
    assert get_reader(str(tmp_path / "a.jpg")) is None
    assert get_reader([str(tmp_path / "a.nii"), str(tmp_path / "b.nii")]) is None


def test_open_files(make_napari_viewer, files: dict[str, Path]) -> None:
    viewer = make_napari_viewer()
    (labels,) = viewer.open(str(files["labels"]), plugin=PLUGIN)
    assert labels._type_string == "labels" and labels.name == "skull"
    assert labels.data.shape == (6, 7, 8) and labels.data[5, 6, 7] == 2
    np.testing.assert_allclose(labels.scale, (2.0, 1.5, 1.0))
    assert labels.metadata["spacing_mm"] == (2.0, 1.5, 1.0)

    (image,) = viewer.open(str(files["image"]), plugin=PLUGIN)
    assert image._type_string == "image" and image.data.shape == (6, 7, 8)
    np.testing.assert_allclose(image.scale, (1.0, 2.0, 3.0))

    (us,) = viewer.open(str(US_DICOM), plugin=PLUGIN)
    assert us._type_string == "image" and us.data.shape == (350, 800)
    assert us.data.dtype == np.float32 and us.colormap.name == "gray"
    np.testing.assert_allclose(us.scale, (0.26228788, 0.26228788))
    np.testing.assert_allclose(us.contrast_limits, (0.0, 1.0))
    assert us.metadata["modality"] == "US"
    np.testing.assert_allclose(us.metadata["pixel_spacing_mm"], (0.26228788, 0.26228788))

    (frame,) = viewer.open(str(files["png"]), plugin=PLUGIN)
    assert frame.data.shape == (20, 30)
    np.testing.assert_allclose(frame.scale, (1.0, 1.0))
    assert len(viewer.layers) == 4


def test_corrupt_file_clear_error(make_napari_viewer, files: dict[str, Path]) -> None:
    viewer = make_napari_viewer()
    viewer.open(str(files["labels"]), plugin=PLUGIN)
    with pytest.raises(Exception) as info:
        viewer.open(str(files["bad"]), plugin=PLUGIN)
    chain, exc = [], info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    messages = " | ".join(str(e) for e in chain)
    assert any(isinstance(e, ValueError) for e in chain), messages
    assert "bad.nii" in messages and "truncated" in messages
    assert [layer.name for layer in viewer.layers] == ["skull"]


def test_save_labels_round_trip(make_napari_viewer, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    data = np.zeros((5, 6, 7), np.int32)
    data[1:3, 2:5, 1:6] = 1
    data[4, 5, 6] = 3
    layer = viewer.add_labels(data, scale=(2.0, 1.0, 0.5), translate=(4.0, 0.0, 0.0))
    written = layer.save(str(tmp_path / "out.nii.gz"), plugin=PLUGIN)
    assert written == [str(tmp_path / "out.nii.gz")]
    volume = read_nifti(tmp_path / "out.nii.gz")
    np.testing.assert_array_equal(volume.data, data)
    assert volume.is_labels and volume.spacing_mm == (2.0, 1.0, 0.5)
    np.testing.assert_allclose(volume.affine[:3, 3], (0.0, 0.0, 4.0))

    viewer.layers.save(str(tmp_path / "again.nii"), selected=False, plugin=PLUGIN)
    (reopened,) = viewer.open(str(tmp_path / "again.nii"), plugin=PLUGIN)
    assert reopened._type_string == "labels"
    np.testing.assert_array_equal(reopened.data, data)
    np.testing.assert_allclose(reopened.scale, (2.0, 1.0, 0.5))


def test_writer_rejects_bad_dims(tmp_path: Path) -> None:
    from napari_genmed._writer import write_nifti as write_layer

    assert write_layer(str(tmp_path / "flat"), np.ones((4, 5), np.uint8), {"scale": (2, 3)}) == [
        str(tmp_path / "flat.nii.gz")
    ]
    volume = read_nifti(tmp_path / "flat.nii.gz")
    assert volume.data.shape == (1, 4, 5) and volume.spacing_mm == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="2D or 3D"):
        write_layer(str(tmp_path / "t.nii"), np.ones((2, 3, 4, 5)), {"scale": (1, 1, 1, 1)})
