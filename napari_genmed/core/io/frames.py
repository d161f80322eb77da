"""Exported ultrasound frames (PNG, TIFF) as gray float32 images with mm spacing.

Integer samples are scaled to [0, 1] by their dtype's range (uint8 / 255,
uint16 / 65535, ...); float samples are kept as they are but must be finite; bool
becomes 0/1. RGB(A) becomes gray by ITU-R BT.601 luminance (alpha is ignored), a
gray+alpha image keeps its gray channel. PNG is read with ``imageio.v3``, TIFF with
``tifffile``; a multi-page TIFF gives a (frames, H, W) stack.

Pixel spacing (row, col) in mm comes from the TIFF ``YResolution``/``XResolution``
tags (pixels per unit) when ``ResolutionUnit`` is inch or centimetre, otherwise
(1, 1) with a note in ``warnings``; PNG is never calibrated and gets (1, 1).
Every problem with a file is a ``ValueError`` that names the file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import tifffile

DEFAULT_MAX_BYTES = 1 << 30  #: 1 GiB of decoded samples at most
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)  #: BT.601 weights
PNG_SUFFIXES = (".png",)
TIFF_SUFFIXES = (".tif", ".tiff")
_MM_PER_UNIT = {2: 25.4, 3: 10.0}  #: TIFF ResolutionUnit: 2 inch, 3 centimetre


class _BadFile(ValueError):
    """A ValueError whose message already names the file."""


@dataclass
class FrameImage:
    """A gray frame (or a stack of frames) exported from an ultrasound machine."""

    data: np.ndarray  #: float32, (H, W) or (frames, H, W)
    pixel_spacing_mm: tuple[float, float] = (1.0, 1.0)  #: (row, col)
    warnings: list[str] = field(default_factory=list)


def _check_size(path: Path, shape: tuple[int, ...], dtype: Any, max_bytes: int) -> None:
    nbytes = math.prod(int(s) for s in shape) * max(np.dtype(dtype).itemsize, 4)
    if nbytes > max_bytes:
        raise _BadFile(
            f"{path}: image of shape {tuple(shape)} needs {nbytes / 2**20:.0f} MiB, "
            f"more than the {max_bytes / 2**20:.0f} MiB limit"
        )


def _scale(path: Path, arr: np.ndarray) -> np.ndarray:
    """Samples to float32, integers scaled by their dtype range."""
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        lo = float(info.min) if arr.dtype.kind == "i" else 0.0
        return ((arr.astype(np.float64) - lo) / (float(info.max) - lo)).astype(np.float32)
    if arr.dtype.kind == "f":
        out = arr.astype(np.float32)
        if not np.all(np.isfinite(out)):
            raise _BadFile(f"{path}: image contains NaN or infinite values")
        return out
    raise _BadFile(f"{path}: unsupported sample type {arr.dtype}")


def _to_gray(path: Path, arr: np.ndarray, has_samples: bool) -> np.ndarray:
    """Drop the trailing samples axis (if any) by luminance or by taking gray."""
    scaled = _scale(path, arr)
    if not has_samples:
        return scaled
    n = scaled.shape[-1]
    if n in (3, 4):
        return scaled[..., :3] @ LUMINANCE
    if n in (1, 2):
        return scaled[..., 0]
    raise _BadFile(f"{path}: unsupported number of channels ({n})")


def _read_png(path: Path, max_bytes: int) -> FrameImage:
    props = iio.improps(path, index=0, plugin="pillow")
    _check_size(path, props.shape, props.dtype, max_bytes)
    arr = np.asarray(iio.imread(path, index=0, plugin="pillow"))  # APNG: first frame
    if arr.ndim not in (2, 3):
        raise _BadFile(f"{path}: unsupported PNG shape {arr.shape}")
    return FrameImage(_to_gray(path, arr, has_samples=arr.ndim == 3), (1.0, 1.0))


def _tiff_spacing(page: tifffile.TiffPage) -> tuple[float, float] | None:
    tags = page.tags
    unit_tag = tags.get("ResolutionUnit")
    if unit_tag is None or int(unit_tag.value) not in _MM_PER_UNIT:
        return None
    mm_per_unit = _MM_PER_UNIT[int(unit_tag.value)]
    spacing = []
    for name in ("YResolution", "XResolution"):
        tag = tags.get(name)
        if tag is None:
            return None
        num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
        if not num or not den or not math.isfinite(num / den) or num / den <= 0:
            return None
        spacing.append(mm_per_unit * den / num)
    return spacing[0], spacing[1]


def _check_tiff_length(path: Path, tif: tifffile.TiffFile) -> None:
    size = os.path.getsize(path)
    for page in tif.pages:
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            if offset + count > size:
                raise _BadFile(
                    f"{path}: file is truncated: image data runs to byte "
                    f"{offset + count} but the file has {size}"
                )


def _read_tiff(path: Path, max_bytes: int) -> FrameImage:
    with tifffile.TiffFile(path) as tif:
        if not tif.series or not tif.pages:
            raise _BadFile(f"{path}: TIFF file holds no image")
        series = tif.series[0]
        _check_size(path, series.shape, series.dtype, max_bytes)
        _check_tiff_length(path, tif)
        arr = np.asarray(series.asarray())
        axes = series.axes
        page = tif.pages.first
    if arr.shape != tuple(series.shape):
        raise _BadFile(f"{path}: decoded shape {arr.shape} does not match {series.shape}")
    if "S" in axes:
        arr = np.moveaxis(arr, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    has_samples = axes.endswith("S")
    spatial = arr.ndim - (1 if has_samples else 0)
    if spatial < 2:
        raise _BadFile(f"{path}: unsupported TIFF shape {arr.shape} (axes {series.axes})")
    if spatial > 2:  # pages / z / time: one stack of frames
        arr = arr.reshape((-1,) + arr.shape[spatial - 2 :])
    gray = _to_gray(path, arr, has_samples)
    if gray.ndim == 3 and gray.shape[0] == 1:
        gray = gray[0]
    spacing = _tiff_spacing(page)
    notes = []
    if spacing is None:
        spacing = (1.0, 1.0)
        notes.append(f"{path}: no TIFF resolution in inch/cm; using 1.0 mm x 1.0 mm pixels")
    return FrameImage(np.ascontiguousarray(gray, dtype=np.float32), spacing, notes)


def read_frame(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> FrameImage:
    """Read a PNG or TIFF frame as gray float32 with (row, col) spacing in mm."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PNG_SUFFIXES + TIFF_SUFFIXES:
        raise ValueError(f"{path}: not a PNG or TIFF file (suffix {suffix!r})")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    reader = _read_png if suffix in PNG_SUFFIXES else _read_tiff
    try:
        return reader(path, max_bytes)
    except _BadFile as exc:
        raise ValueError(str(exc)) from exc.__cause__
    except Exception as exc:  # imageio/Pillow/tifffile raise many kinds
        raise ValueError(
            f"{path}: unreadable or truncated image file ({type(exc).__name__}: {exc})"
        ) from exc
