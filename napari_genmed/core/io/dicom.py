"""DICOM ultrasound frames, read with validation, as gray float32 with mm spacing.

Gray values keep their native shape of contrast: an unsigned sample with ``BitsStored``
bits is divided by ``2**BitsStored - 1`` (``/255`` for 8-bit), a signed one is shifted
first, so values lie in [0, 1]; MONOCHROME1 is inverted. Colour (RGB, YBR_*, and
PALETTE COLOR through its lookup table) becomes gray by ITU-R BT.601 luminance
``0.299 R + 0.587 G + 0.114 B``.

Pixel spacing (row, col) in mm comes, in order of preference, from the ultrasound
region calibration (``SequenceOfUltrasoundRegions``: the first region whose physical
units are cm in both directions, ``PhysicalDeltaY/X`` x 10), ``PixelSpacing``,
``ImagerPixelSpacing``, else (1, 1) with a warning.

The same calibrated region gives the image's ultrasound area (``RegionLocationMinX0``
... ``MaxY1``, inclusive pixel bounds) as :attr:`DicomImage.region`, the box outside
which a scanner draws its menus and labels; a region that does not lie inside the
stored pixels (a file resampled after calibration) is not cropped to, with a warning.
:attr:`DicomImage.overlay` marks pixels that are drawn on the image, not echoes:
colour (chroma ``max(R,G,B) - min(R,G,B)`` above :data:`CHROMA_OVERLAY`: colour
Doppler, colour bars, coloured markers) and the DICOM overlay planes (60xx,3000).

The declared pixel size is checked against a cap and against the length of the stored
``PixelData`` *before* decoding; every problem is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, convert_color_space, get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

DEFAULT_MAX_BYTES = 1 << 30  #: 1 GiB of declared pixel data at most
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)  #: BT.601 weights
_CM_UNITS = 3  #: PhysicalUnitsX/YDirection code for centimetres
_PIXEL_DATA = 0x7FE00010
#: chroma (0-1) above which a pixel of a colour image is an overlay, not an echo: gray
#: echoes decoded from YBR/JPEG keep a chroma below about 0.05, Doppler colour and
#: coloured markers are far above
CHROMA_OVERLAY = 0.15


class _BadFile(ValueError):
    """A ValueError whose message already names the file."""


@dataclass
class DicomImage:
    """A gray DICOM image (one frame or a stack of frames)."""

    data: np.ndarray  #: float32, (H, W) or (frames, H, W), values in [0, 1]
    pixel_spacing_mm: tuple[float, float]  #: (row, col)
    modality: str  #: e.g. "US"
    metadata: dict[str, str] = field(default_factory=dict)  #: harmless header strings
    warnings: list[str] = field(default_factory=list)
    #: the calibrated ultrasound area, (row0, col0, row1, col1) with exclusive ends, or None
    region: tuple[int, int, int, int] | None = None
    #: bool, the shape of ``data``: pixels drawn on the image (colour, overlay planes), or None
    overlay: np.ndarray | None = None


def _positive(values: object, n: int) -> tuple[float, ...] | None:
    """``n`` finite positive floats from a DICOM value, or None."""
    try:
        out = tuple(abs(float(v)) for v in values)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(out) != n or not all(math.isfinite(v) and v > 0 for v in out):
        return None
    return out


def _calibrated_region(ds: pydicom.Dataset):
    """The first ultrasound region calibrated in cm both ways, and its (row, col) mm."""
    for region in ds.get("SequenceOfUltrasoundRegions", None) or []:
        if (
            region.get("PhysicalUnitsXDirection") == _CM_UNITS
            and region.get("PhysicalUnitsYDirection") == _CM_UNITS
        ):
            delta = _positive((region.get("PhysicalDeltaY"), region.get("PhysicalDeltaX")), 2)
            if delta is not None:
                return region, (delta[0] * 10.0, delta[1] * 10.0)
    return None, None


def _region_box(path: Path, ds: pydicom.Dataset, shape: tuple[int, int], warnings: list):
    """The calibrated region's box (row0, col0, row1, col1), ends exclusive, when it
    lies inside the ``shape`` (rows, cols) pixels; None (with a warning) otherwise."""
    region, _ = _calibrated_region(ds)
    if region is None:
        return None
    try:
        x0, y0, x1, y1 = (
            int(region.get(k))
            for k in (
                "RegionLocationMinX0",
                "RegionLocationMinY0",
                "RegionLocationMaxX1",
                "RegionLocationMaxY1",
            )
        )
    except (TypeError, ValueError):
        return None
    rows, cols = shape
    if not (0 <= x0 < x1 < cols and 0 <= y0 < y1 < rows):
        warnings.append(
            f"{path}: its ultrasound region (columns {x0}-{x1}, rows {y0}-{y1}) lies outside "
            f"the {cols} x {rows} image (resampled after calibration?): the image is not "
            "cropped to it; its pixel spacing is used as given (check it)"
        )
        return None
    return y0, x0, y1 + 1, x1 + 1


def _overlay_planes(ds: pydicom.Dataset, shape: tuple[int, ...]) -> np.ndarray | None:
    """The union of the DICOM overlay planes (60xx,3000) of the image's size."""
    out = None
    for group in range(0x6000, 0x6020, 2):
        if (group << 16 | 0x3000) not in ds:
            continue
        try:
            plane = np.asarray(ds.overlay_array(group), bool)
        except Exception:  # an overlay pydicom cannot unpack: the image is still read
            continue
        if plane.shape[-2:] != tuple(shape[-2:]):
            continue
        plane = np.broadcast_to(plane if plane.ndim == len(shape) else plane[0], shape)
        out = plane.copy() if out is None else out | plane
    return out


def _spacing(ds: pydicom.Dataset) -> tuple[tuple[float, float] | None, str]:
    """(row, col) spacing in mm and where it came from; None when nothing usable."""
    _, delta = _calibrated_region(ds)
    if delta is not None:
        return delta, "ultrasound region calibration"
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword, None)
        spacing = _positive(value, 2) if value is not None else None
        if spacing is not None:
            return (spacing[0], spacing[1]), keyword
    return None, "default (none in file)"


def _transfer_syntax(ds: pydicom.Dataset) -> UID:
    ts = getattr(ds, "file_meta", None) and ds.file_meta.get("TransferSyntaxUID")
    if ts:
        return UID(ts)
    implicit, _little = ds.original_encoding
    return ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian


def _check_sizes(path: Path, ds: pydicom.Dataset, ts: UID, max_bytes: int) -> None:
    """Declared size below the cap and, uncompressed, no longer than the PixelData."""
    if _PIXEL_DATA not in ds:
        raise _BadFile(f"{path}: DICOM file has no PixelData (not an image, or truncated)")
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    frames = int(ds.get("NumberOfFrames") or 1)
    samples = int(ds.get("SamplesPerPixel") or 1)
    bits = int(ds.get("BitsAllocated") or 0)
    if rows <= 0 or cols <= 0 or frames <= 0 or samples not in (1, 3) or bits <= 0:
        raise _BadFile(
            f"{path}: invalid image header (Rows={rows}, Columns={cols}, "
            f"frames={frames}, SamplesPerPixel={samples}, BitsAllocated={bits})"
        )
    declared = math.ceil(rows * cols * frames * samples * bits / 8)
    if declared > max_bytes:
        raise _BadFile(
            f"{path}: header declares {declared / 2**20:.0f} MiB of pixel data, more than "
            f"the {max_bytes / 2**20:.0f} MiB limit"
        )
    if ts.is_compressed:
        return
    if str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
        declared = math.ceil(rows * cols * frames * 2 * bits / 8)  # chroma subsampled
    elem = ds.get_item(_PIXEL_DATA)
    value = getattr(elem, "value", None)
    length = len(value) if value is not None else int(elem.length)
    tell = getattr(elem, "value_tell", None)
    if value is None and tell is not None:
        length = min(length, max(os.path.getsize(path) - int(tell), 0))
    if length < declared:
        raise _BadFile(
            f"{path}: file is truncated: PixelData holds {length} bytes but "
            f"{rows}x{cols}x{frames} pixels need {declared}"
        )


def _decode(path: Path, ds: pydicom.Dataset, ts: UID) -> tuple[np.ndarray, str]:
    """The decoded array (RGB where the decoder converts YBR) and its photometric."""
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        raise _BadFile(f"{path}: unsupported transfer syntax {ts.name} ({ts})") from exc
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "no decoder plugin"
        raise _BadFile(
            f"{path}: {ts.name} compressed DICOM needs a decoder that is not installed "
            f"({missing}); install one, e.g. `pip install pylibjpeg pylibjpeg-libjpeg "
            "pylibjpeg-openjpeg`, or export the file uncompressed"
        )
    arr, meta = decoder.as_array(ds, as_rgb=True)
    return arr, str(meta.get("photometric_interpretation", ds.PhotometricInterpretation))


def _gray_and_chroma(scaled_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance and the pixels whose chroma marks them as drawn in colour."""
    chroma = scaled_rgb.max(-1) - scaled_rgb.min(-1)
    return scaled_rgb @ LUMINANCE, chroma > CHROMA_OVERLAY


def _to_gray(path: Path, ds: pydicom.Dataset, arr: np.ndarray, pi: str):
    """Scale to [0, 1] and convert colour to luminance; also the colour pixels (None
    for a gray image)."""
    pi = pi.strip().upper()
    if pi == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        scaled = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
        return _gray_and_chroma(scaled)
    if pi.startswith("YBR"):
        arr = convert_color_space(arr, pi, "RGB")
        pi = "RGB"
    bits = int(ds.get("BitsStored") or ds.BitsAllocated)
    if arr.dtype.kind == "f":
        scaled = arr.astype(np.float32)
    else:
        top = float(2**bits - 1)
        shift = float(2 ** (bits - 1)) if arr.dtype.kind == "i" else 0.0
        scaled = np.clip((arr.astype(np.float32) + shift) / top, 0.0, 1.0)
    if pi == "RGB":
        return _gray_and_chroma(scaled)
    if pi == "MONOCHROME1":
        return 1.0 - scaled, None
    if pi == "MONOCHROME2":
        return scaled, None
    raise _BadFile(f"{path}: unsupported PhotometricInterpretation {pi!r}")


def _read(path: Path, max_bytes: int) -> DicomImage:
    try:
        ds = pydicom.dcmread(path, defer_size="64 KB")
    except InvalidDicomError as exc:
        raise _BadFile(f"{path}: not a DICOM file ({exc})") from exc
    ts = _transfer_syntax(ds)
    _check_sizes(path, ds, ts, max_bytes)
    arr, pi = _decode(path, ds, ts)
    gray, coloured = _to_gray(path, ds, arr, pi)
    gray = np.ascontiguousarray(gray, dtype=np.float32)
    frames = int(ds.get("NumberOfFrames") or 1)
    expected = (ds.Rows, ds.Columns) if frames == 1 else (frames, ds.Rows, ds.Columns)
    if gray.shape != tuple(int(s) for s in expected):
        raise _BadFile(f"{path}: decoded shape {gray.shape} does not match {expected}")
    if not np.all(np.isfinite(gray)):
        raise _BadFile(f"{path}: pixel data contains non-finite values")

    warnings: list[str] = []
    spacing, source = _spacing(ds)
    if spacing is None:
        spacing = (1.0, 1.0)
        warnings.append(f"{path}: no pixel spacing in the file; using 1.0 mm x 1.0 mm")
    sop = ds.get("SOPClassUID", None)
    metadata = {
        "Modality": str(ds.get("Modality", "")),
        "Manufacturer": str(ds.get("Manufacturer", "")),
        "SOPClass": UID(str(sop)).name if sop else "",
        "PhotometricInterpretation": str(ds.get("PhotometricInterpretation", "")),
        "TransferSyntax": ts.name,
        "calibration": source,
    }
    region = _region_box(path, ds, gray.shape[-2:], warnings)
    planes = _overlay_planes(ds, gray.shape)
    overlay = coloured if planes is None else (planes if coloured is None else coloured | planes)
    if overlay is not None and not overlay.any():
        overlay = None
    return DicomImage(
        gray, spacing, metadata["Modality"], metadata, warnings, region=region, overlay=overlay
    )


def read_dicom(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> DicomImage:
    """Read a single- or multi-frame DICOM image as gray float32 with spacing in mm."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        return _read(path, max_bytes)
    except _BadFile as exc:
        raise ValueError(str(exc)) from exc.__cause__
    except Exception as exc:  # pydicom raises many kinds for a damaged file
        raise ValueError(
            f"{path}: unreadable DICOM file, damaged or truncated ({type(exc).__name__}: {exc})"
        ) from exc
