"""Ultrasound DICOM (pydicom's real test files): frames, colour, spacing; bad files
are a ValueError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from napari_genmed.core.io.dicom import read_dicom

LUMA = np.array([0.299, 0.587, 0.114])  #: gray by luminance


def _testdata(name: str) -> str:
    """A pydicom example file that ships with pydicom (never downloaded)."""
    path = Path(pydicom.__file__).parent / "data" / "test_files" / name
    assert path.is_file(), f"{name} should ship with pydicom"
    return str(path)


def test_dicom_palette_ultrasound() -> None:
    path = _testdata("examples_palette.dcm")
    image = read_dicom(path)
    assert image.data.shape == (350, 800) and image.data.dtype == np.float32
    assert np.all(np.isfinite(image.data))
    assert image.data.min() >= 0.0 and image.data.max() <= 1.0 and image.data.std() > 0
    region = pydicom.dcmread(path).SequenceOfUltrasoundRegions[0]
    assert region.PhysicalUnitsYDirection == 3  # cm
    expected = (region.PhysicalDeltaY * 10.0, region.PhysicalDeltaX * 10.0)
    np.testing.assert_allclose(image.pixel_spacing_mm, expected)
    np.testing.assert_allclose(image.pixel_spacing_mm, (0.26228788, 0.26228788))
    assert image.modality == "US"
    assert image.metadata["calibration"] == "ultrasound region calibration"
    assert image.metadata["PhotometricInterpretation"] == "PALETTE COLOR"


def test_dicom_rgb_ultrasound() -> None:
    path = _testdata("examples_rgb_color.dcm")
    image = read_dicom(path)
    assert image.data.shape == (240, 320) and image.data.dtype == np.float32
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64) / 255.0
    np.testing.assert_allclose(image.data, rgb @ LUMA, atol=1e-5)
    assert image.pixel_spacing_mm == (1.0, 1.0) and image.warnings  # no calibration
    assert image.modality == "US"


def test_dicom_ybr_jpeg_multiframe() -> None:
    """Decoded when a JPEG decoder (Pillow, pylibjpeg, gdcm) is installed, else clear error."""
    from pydicom.pixels import get_decoder

    path = _testdata("examples_ybr_color.dcm")
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if get_decoder(ts).is_available:
        image = read_dicom(path)
        assert image.data.shape == (30, 240, 320) and np.all(np.isfinite(image.data))
        np.testing.assert_allclose(image.pixel_spacing_mm, (0.5104970559, 0.5104970559))
    else:
        with pytest.raises(ValueError, match="decoder"):
            read_dicom(path)


def test_dicom_missing_decoder_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import napari_genmed.core.io.dicom as dicom_mod

    class _NoDecoder:
        is_available = False
        missing_dependencies = ["pylibjpeg - requires pylibjpeg>=2.0"]

    monkeypatch.setattr(dicom_mod, "get_decoder", lambda ts: _NoDecoder())
    with pytest.raises(ValueError, match="JPEG Baseline.*pylibjpeg.*uncompressed"):
        read_dicom(_testdata("examples_ybr_color.dcm"))


@pytest.mark.parametrize("name", ["examples_palette.dcm", "examples_rgb_color.dcm"])
def test_dicom_truncated(tmp_path: Path, name: str) -> None:
    raw = Path(_testdata(name)).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_dicom(cut)


def test_not_dicom(tmp_path: Path) -> None:
    path = tmp_path / "fake.dcm"
    path.write_text("this is not a DICOM file\n" * 20)
    with pytest.raises(ValueError, match="not a DICOM file"):
        read_dicom(path)
    with pytest.raises(ValueError, match="no PixelData"):
        read_dicom(_testdata("rtplan.dcm"))
