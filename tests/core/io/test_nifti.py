"""NIfTI volumes read back right; bad files are a ValueError before any allocation."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_genmed.core.io.nifti import read_nifti, write_nifti


def _asymmetric(dtype: type) -> np.ndarray:
    data = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 7
    data[2, 3, 4] = 9  # a marker at the far corner pins the axis order
    return data.astype(dtype)


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
