"""File formats: NIfTI, DICOM and PNG/TIFF frames read back right, bad files give ValueError."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import imageio.v3 as iio
import nibabel as nib
import numpy as np
import pydicom
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_genmed.core.io.dicom import read_dicom
from napari_genmed.core.io.frames import read_frame
from napari_genmed.core.io.nifti import read_nifti, write_nifti

LUMA = np.array([0.299, 0.587, 0.114])


def _testdata(name: str) -> str:
    """A pydicom example file that ships with pydicom (never downloaded)."""
    path = Path(pydicom.__file__).parent / "data" / "test_files" / name
    assert path.is_file(), f"{name} should ship with pydicom"
    return str(path)


def _asymmetric(dtype: type) -> np.ndarray:
    data = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 7
    data[2, 3, 4] = 9  # a marker at the far corner pins the axis order
    return data.astype(dtype)


# --------------------------------------------------------------------------- NIfTI


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_nifti_round_trip(tmp_path: Path, suffix: str, dtype: type) -> None:
    data = _asymmetric(dtype)
    if dtype is np.float32:
        data = data + np.float32(0.25)
    path = write_nifti(tmp_path / f"v{suffix}", data, (2.0, 3.0, 4.0), (10.0, 20.0, 30.0))
    vol = read_nifti(path)
    assert vol.data.shape == (3, 4, 5)
    np.testing.assert_array_equal(vol.data, data)
    assert vol.spacing_mm == (2.0, 3.0, 4.0)
    assert vol.is_labels == (dtype is np.uint8)
    # nibabel sees (x, y, z) with zooms (sx, sy, sz) and the origin as translation
    img = nib.load(str(path))
    assert img.shape == (5, 4, 3)
    assert img.header.get_zooms() == (4.0, 3.0, 2.0)
    np.testing.assert_allclose(vol.affine[:3, 3], (30.0, 20.0, 10.0))
    assert np.asanyarray(img.dataobj)[4, 3, 2] == data[2, 3, 4]


def test_nifti_labels_dtypes(tmp_path: Path) -> None:
    mask = _asymmetric(np.int64) > 3
    vol = read_nifti(write_nifti(tmp_path / "m.nii.gz", mask))
    assert vol.is_labels and vol.data.dtype == np.uint8
    np.testing.assert_array_equal(vol.data, mask)
    big = _asymmetric(np.int64) * 1000 - 500
    vol = read_nifti(write_nifti(tmp_path / "b.nii", big))
    assert vol.data.dtype == np.int16
    np.testing.assert_array_equal(vol.data, big)


def test_nifti_nan_reported(tmp_path: Path) -> None:
    data = _asymmetric(np.float32)
    data[0, 0, 0] = np.nan
    vol = read_nifti(write_nifti(tmp_path / "n.nii", data))
    assert np.isnan(vol.data[0, 0, 0])
    assert any("1 non-finite" in w for w in vol.warnings)


def test_nifti_truncated(tmp_path: Path) -> None:
    path = write_nifti(tmp_path / "v.nii", np.random.rand(20, 30, 40).astype(np.float32))
    raw = path.read_bytes()
    cut = tmp_path / "cut.nii"
    for size in (len(raw) // 2, 200, len(raw) - 1):
        cut.write_bytes(raw[:size])
        with pytest.raises(ValueError, match="truncated"):
            read_nifti(cut)


def test_nifti_gz_corrupt(tmp_path: Path) -> None:
    path = write_nifti(tmp_path / "v.nii.gz", np.random.rand(20, 30, 40).astype(np.float32))
    raw = bytearray(path.read_bytes())
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(bytes(raw[: len(raw) // 2]))
    with pytest.raises(ValueError, match="truncated"):
        read_nifti(bad)
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match="bad.nii.gz"):
        read_nifti(bad)
    flipped = raw.copy()
    for pos in range(200, len(raw) - 8, 997):
        flipped[pos] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="bad.nii.gz"):
        read_nifti(bad)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_huge_header_refused_before_allocation(tmp_path: Path, suffix: str) -> None:
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_data_shape((30000, 30000, 3000))  # ~10 TiB declared
    header["vox_offset"] = 352
    blob = header.binaryblock + b"\0" * 4 + b"\0" * 1024
    path = tmp_path / f"huge{suffix}"
    path.write_bytes(gzip.compress(blob) if suffix == ".nii.gz" else blob)
    with pytest.raises(ValueError, match="limit"):
        read_nifti(path)


def test_nifti_bad_zooms_and_dims(tmp_path: Path) -> None:
    raw = bytearray(write_nifti(tmp_path / "v.nii", _asymmetric(np.uint8)).read_bytes())
    for value in (0.0, np.nan):
        raw[80:84] = np.float32(value).tobytes()  # pixdim[2], the y zoom
        (tmp_path / "z.nii").write_bytes(bytes(raw))
        with pytest.raises(ValueError, match="voxel size"):
            read_nifti(tmp_path / "z.nii")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.float32), np.eye(4)), tmp_path / "t.nii")
    with pytest.raises(ValueError, match="4D"):
        read_nifti(tmp_path / "t.nii")
    nib.save(nib.Nifti1Image(np.ones((5, 4, 3, 1), np.float32), np.eye(4)), tmp_path / "s.nii")
    assert read_nifti(tmp_path / "s.nii").data.shape == (3, 4, 5)


# --------------------------------------------------------------------------- DICOM


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


# --------------------------------------------------------------------------- frames


def test_png_gray_and_rgb(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    iio.imwrite(tmp_path / "g.png", gray)
    frame = read_frame(tmp_path / "g.png")
    assert frame.data.dtype == np.float32 and frame.data.shape == (30, 40)
    np.testing.assert_allclose(frame.data, gray / 255.0, atol=1e-6)
    assert frame.pixel_spacing_mm == (1.0, 1.0)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "c.png", rgb)
    np.testing.assert_allclose(read_frame(tmp_path / "c.png").data, rgb / 255.0 @ LUMA, atol=1e-5)
    rgba = np.concatenate([rgb, np.full((30, 40, 1), 7, np.uint8)], axis=-1)
    iio.imwrite(tmp_path / "a.png", rgba)
    np.testing.assert_allclose(read_frame(tmp_path / "a.png").data, rgb / 255.0 @ LUMA, atol=1e-5)


def test_tiff_uint16_and_resolution(tmp_path: Path) -> None:
    data = (np.arange(30 * 40).reshape(30, 40) * 51).astype(np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data)
    frame = read_frame(tmp_path / "a.tif")
    np.testing.assert_allclose(frame.data, data / 65535.0, atol=1e-6)
    assert frame.pixel_spacing_mm == (1.0, 1.0)
    # 50 px/cm across (0.2 mm columns), 25 px/cm down (0.4 mm rows)
    tifffile.imwrite(tmp_path / "cm.tiff", data, resolution=(50, 25), resolutionunit="CENTIMETER")
    np.testing.assert_allclose(read_frame(tmp_path / "cm.tiff").pixel_spacing_mm, (0.4, 0.2))
    tifffile.imwrite(tmp_path / "in.tif", data, resolution=(254, 254), resolutionunit="INCH")
    np.testing.assert_allclose(read_frame(tmp_path / "in.tif").pixel_spacing_mm, (0.1, 0.1))
    stack = np.stack([data // k for k in range(1, 6)])  # 3 planes would be planar RGB
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    frames = read_frame(tmp_path / "s.tif")
    assert frames.data.shape == (5, 30, 40)
    np.testing.assert_allclose(frames.data, stack / 65535.0, atol=1e-6)


def test_frames_truncated_and_nan(tmp_path: Path) -> None:
    iio.imwrite(tmp_path / "g.png", np.random.default_rng(2).integers(0, 256, (64, 64), np.uint8))
    raw = (tmp_path / "g.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_frame(tmp_path / "cut.png")
    tifffile.imwrite(tmp_path / "a.tif", np.ones((64, 64), np.uint16))
    raw = (tmp_path / "a.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_frame(tmp_path / "cut.tif")
    tifffile.imwrite(tmp_path / "nan.tif", np.full((8, 8), np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        read_frame(tmp_path / "nan.tif")


# --------------------------------------------------------------------------- fuzz

READERS = {".nii": read_nifti, ".nii.gz": read_nifti, ".dcm": read_dicom}
READERS.update({".png": read_frame, ".tif": read_frame})


def _valid_bytes(suffix: str, folder: Path) -> bytes:
    """A small valid file of each format, for mutation."""
    path = folder / f"valid{suffix}"
    data = np.arange(4 * 6 * 8, dtype=np.uint8).reshape(4, 6, 8)
    if suffix in (".nii", ".nii.gz"):
        write_nifti(path, data)
    elif suffix == ".dcm":
        return Path(_testdata("examples_rgb_color.dcm")).read_bytes()[:4000]
    elif suffix == ".png":
        iio.imwrite(path, data[0])
    else:
        tifffile.imwrite(path, data, photometric="minisblack")
    return path.read_bytes()


@pytest.mark.parametrize("suffix", list(READERS))
def test_random_bytes_only_value_error(tmp_path_factory: pytest.TempPathFactory, suffix: str):
    folder = tmp_path_factory.mktemp("fuzz")
    valid = _valid_bytes(suffix, folder)
    reader = READERS[suffix]

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        noise=st.binary(min_size=0, max_size=2000),
        mutate=st.booleans(),
        compress=st.booleans(),
        flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8),
        cut=st.integers(0, 10**6),
    )
    def check(
        noise: bytes, mutate: bool, compress: bool, flips: list[tuple[int, int]], cut: int
    ) -> None:
        if mutate:  # a damaged valid file: flipped bits and maybe a cut
            blob = bytearray(valid)
            for pos, mask in flips:
                blob[pos % len(blob)] ^= mask
            blob = blob[: max(cut % (len(blob) + 1), 1)]
        else:  # noise, gzipped half the time for .nii.gz to reach the NIfTI checks
            blob = gzip.compress(noise) if compress and suffix == ".nii.gz" else noise
        path = folder / f"fuzz{suffix}"
        path.write_bytes(bytes(blob))
        try:
            reader(path)
        except ValueError as exc:
            assert str(path) in str(exc)

    check()


def test_core_io_keeps_napari_out() -> None:
    import napari_genmed.core.io.dicom  # noqa: F401
    import napari_genmed.core.io.frames  # noqa: F401
    import napari_genmed.core.io.nifti  # noqa: F401

    if "napari" not in sys.modules:  # when the Qt tests ran first, napari is loaded
        assert "qtpy" not in sys.modules
