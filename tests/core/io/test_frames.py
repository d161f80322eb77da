"""PNG / TIFF frames read right, and every reader fuzzed: random bytes, flipped bits
and truncation give a ValueError or a correct read, never a crash."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pydicom
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_genmed.core.io.dicom import read_dicom
from napari_genmed.core.io.frames import read_frame
from napari_genmed.core.io.nifti import read_nifti, write_nifti

LUMA = np.array([0.299, 0.587, 0.114])  #: gray by luminance


def _testdata(name: str) -> str:
    """A pydicom example file that ships with pydicom (never downloaded)."""
    path = Path(pydicom.__file__).parent / "data" / "test_files" / name
    assert path.is_file(), f"{name} should ship with pydicom"
    return str(path)


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
