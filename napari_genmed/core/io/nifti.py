"""NIfTI volumes, read with validation and written in the package's conventions.

nibabel stores arrays with axes (x, y, z) and zooms (sx, sy, sz); the package uses
(z, y, x) arrays and (sz, sy, sx) spacing in mm (docs/design.md, Conventions), so both are reversed
on
the way in and out. The header is checked *before* any voxel is read: dimensions,
a cap on the declared size, finite positive zooms and, for uncompressed ``.nii``, the
file length against ``vox_offset`` plus the declared data bytes. Every problem with a
file is a ``ValueError`` that names the file and says what is wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

DEFAULT_MAX_BYTES = 1 << 30  #: 1 GiB: larger volumes are refused before allocation
MAX_LABEL_VALUES = 256  #: an integer volume with at most this many values is labels


@dataclass
class NiftiVolume:
    """A NIfTI volume in the package's axis order."""

    data: np.ndarray  #: axes (z, y, x), or (y, x) for a 2D file
    spacing_mm: tuple[float, ...]  #: (sz, sy, sx), or (sy, sx) for a 2D file
    affine: np.ndarray  #: 4x4 voxel-to-world affine as stored (nibabel, x-y-z voxels)
    is_labels: bool  #: integer data with few distinct values
    warnings: list[str] = field(default_factory=list)  #: harmless oddities found


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    if name.endswith(".nii"):
        return ".nii"
    raise ValueError(f"{path}: not a NIfTI file (expected a .nii or .nii.gz suffix)")


def _sniff(path: Path, suffix: str) -> np.ndarray:
    """Check the first bytes for a complete single-file NIfTI-1/-2 header; return pixdim.

    The zooms are taken from the raw header because nibabel silently "fixes" a zero
    voxel size to 1 on load, which would be a wrong answer without a word.
    """
    opener = gzip.open if suffix == ".nii.gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(540)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(head) < 4:
        raise ValueError(f"{path}: file is truncated or empty ({len(head)} bytes)")
    sizes = {int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")}
    size = 348 if 348 in sizes else 540 if 540 in sizes else None
    if size is None:
        raise ValueError(f"{path}: not a NIfTI file (header size field is not 348 or 540)")
    if len(head) < size:
        raise ValueError(
            f"{path}: file is truncated: the {size}-byte header is incomplete ({len(head)} bytes)"
        )
    magic = head[344:348] if size == 348 else head[4:8]
    if magic in (b"ni1\0", b"ni2\0"):
        raise ValueError(f"{path}: header/image pair (.hdr/.img) NIfTI is not supported")
    if magic not in (b"n+1\0", b"n+2\0"):
        raise ValueError(f"{path}: not a NIfTI file (bad magic {magic!r})")
    klass = nib.Nifti1Header if size == 348 else nib.Nifti2Header
    try:
        header = klass(head[:size], check=False)
    except Exception as exc:
        raise ValueError(f"{path}: unreadable NIfTI header ({exc})") from exc
    return np.asarray(header["pixdim"], dtype=np.float64)


def _verify_gzip(path: Path, max_bytes: int) -> None:
    """Stream the whole gzip member to its end so its CRC is checked: nibabel reads
    only the bytes it needs and would hand back silently damaged voxels."""
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
                if total > max_bytes + (1 << 20):
                    raise ValueError(f"{path}: decompresses to more than {max_bytes} bytes")
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def _load_header(path: Path) -> nib.Nifti1Image:
    try:
        img = nib.load(str(path))
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    except Exception as exc:  # nibabel raises many kinds for a bad header
        raise ValueError(
            f"{path}: not a readable NIfTI file, damaged or truncated ({exc})"
        ) from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ValueError(f"{path}: not a NIfTI-1/NIfTI-2 image ({type(img).__name__})")
    return img


def _check_header(
    path: Path, img: nib.Nifti1Image, pixdim: np.ndarray, max_bytes: int
) -> tuple[int, ...]:
    """Validate shape, dtype, size and zooms; return the shape without a 4th singleton."""
    header = img.header
    shape = tuple(int(s) for s in img.shape)
    if len(shape) < 2 or len(shape) > 4:
        raise ValueError(f"{path}: {len(shape)}D NIfTI not supported (need 2D or 3D)")
    if len(shape) == 4:
        if shape[3] != 1:
            raise ValueError(
                f"{path}: 4D NIfTI with {shape[3]} volumes; only a single 3D volume "
                "(4th dimension 1) is supported"
            )
        shape = shape[:3]
    if any(s <= 0 for s in shape):
        raise ValueError(f"{path}: header declares non-positive dimensions {shape}")
    dtype = header.get_data_dtype()
    if dtype.fields is not None or dtype.kind not in "biuf":
        raise ValueError(f"{path}: unsupported NIfTI data type {dtype} (need int or float)")
    nbytes = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    if nbytes > max_bytes:
        raise ValueError(
            f"{path}: header declares {shape} voxels of {dtype} ({nbytes / 2**20:.0f} MiB), "
            f"more than the {max_bytes / 2**20:.0f} MiB limit"
        )
    zooms = np.abs(pixdim[1 : len(shape) + 1])  # nibabel, too, takes the magnitude
    if not np.all(np.isfinite(zooms)) or np.any(zooms <= 0):
        raise ValueError(f"{path}: invalid voxel size {tuple(zooms)} mm (need finite, > 0)")
    return shape


def _check_length(path: Path, img: nib.Nifti1Image, shape: tuple[int, ...]) -> None:
    """For uncompressed files, the voxels the header declares must be in the file."""
    offset = max(int(img.header.get_data_offset()), int(getattr(img.dataobj, "offset", 0)))
    needed = offset + int(np.prod(shape)) * img.header.get_data_dtype().itemsize
    actual = os.path.getsize(path)
    if actual < needed:
        raise ValueError(
            f"{path}: file is truncated: header declares {needed} bytes "
            f"(offset {offset} + voxel data) but the file has {actual}"
        )


def read_nifti(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> NiftiVolume:
    """Read a 2D/3D NIfTI file into (z, y, x) axes with (sz, sy, sx) spacing in mm."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    pixdim = _sniff(path, suffix)
    img = _load_header(path)
    shape = _check_header(path, img, pixdim, max_bytes)
    if suffix == ".nii":
        _check_length(path, img, shape)
    else:
        _verify_gzip(path, max_bytes)
    try:
        raw = np.asanyarray(img.dataobj)
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    except Exception as exc:
        raise ValueError(
            f"{path}: could not read the voxel data, the file is truncated or damaged ({exc})"
        ) from exc
    if raw.size != int(np.prod(shape)):
        raise ValueError(f"{path}: file is truncated (voxel data shorter than declared)")
    raw = raw.reshape(shape)
    data = np.ascontiguousarray(raw.transpose(tuple(reversed(range(raw.ndim)))))
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    spacing = tuple(float(z) for z in reversed(img.header.get_zooms()[: len(shape)]))

    warnings: list[str] = []
    is_labels = False
    if data.dtype.kind in "biu":
        is_labels = len(np.unique(data)) <= MAX_LABEL_VALUES
    elif data.dtype.kind == "f":
        n_bad = int(np.count_nonzero(~np.isfinite(data)))
        if n_bad:
            warnings.append(f"{path}: {n_bad} non-finite (NaN/inf) voxels")
    return NiftiVolume(data, spacing, np.asarray(img.affine, float), is_labels, warnings)


def _storage_dtype(data: np.ndarray, path: Path) -> np.dtype:
    """uint8 / int16 / int32 for labels, whichever fits; float32 for images."""
    if data.dtype.kind == "b":
        return np.dtype(np.uint8)
    if data.dtype.kind in "iu":
        lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
        for candidate in (np.uint8, np.int16, np.int32):
            info = np.iinfo(candidate)
            if info.min <= lo and hi <= info.max:
                return np.dtype(candidate)
        raise ValueError(f"{path}: label values {lo}..{hi} do not fit in int32")
    if data.dtype.kind == "f":
        return np.dtype(np.float32)
    raise ValueError(f"{path}: cannot write data of type {data.dtype} as NIfTI")


def write_nifti(
    path: str | os.PathLike,
    data_zyx: np.ndarray,
    spacing_mm: Sequence[float] = (1.0, 1.0, 1.0),
    origin_mm: Sequence[float] = (0.0, 0.0, 0.0),
) -> Path:
    """Write a (z, y, x) (or (y, x)) array as ``.nii``/``.nii.gz``; return the path.

    The affine is diag(sx, sy, sz) plus the origin as translation (both given in
    z, y, x order), so :func:`read_nifti` gives back the same array and spacing.
    Integer/bool data is stored as the smallest of uint8/int16/int32 that fits,
    float data as float32.
    """
    path = Path(path)
    _suffix(path)
    data = np.asarray(data_zyx)
    if data.ndim not in (2, 3):
        raise ValueError(f"{path}: can only write 2D or 3D arrays, got shape {data.shape}")
    spacing = np.asarray(tuple(spacing_mm)[-data.ndim :], dtype=np.float64)
    origin = np.asarray(tuple(origin_mm)[-data.ndim :], dtype=np.float64)
    if spacing.size != data.ndim or origin.size != data.ndim:
        raise ValueError(f"{path}: need {data.ndim} spacing and origin values")
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise ValueError(f"{path}: invalid spacing {tuple(spacing)} mm (need finite, > 0)")
    if not np.all(np.isfinite(origin)):
        raise ValueError(f"{path}: invalid origin {tuple(origin)} mm")
    dtype = _storage_dtype(data, path)

    xyz = np.ascontiguousarray(data.astype(dtype).transpose(tuple(reversed(range(data.ndim)))))
    affine = np.eye(4)
    for axis, (s, o) in enumerate(zip(spacing[::-1], origin[::-1])):
        affine[axis, axis] = s
        affine[axis, 3] = o
    img = nib.Nifti1Image(xyz, affine)
    img.header.set_data_dtype(dtype)
    img.header.set_xyzt_units("mm")
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    nib.save(img, str(path))
    return path
