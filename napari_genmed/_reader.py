"""npe2 reader: NIfTI volumes, DICOM ultrasound and PNG/TIFF frames as napari layers.

``get_reader`` only looks at the suffix; the returned reader does the work through the
core readers, which validate every file and raise ``ValueError`` with a clear message
for a bad one (napari shows it as a notification). NIfTI integer volumes with few
values open as a Labels layer, everything else as an Image layer, scaled in mm.
A cine (a multi-frame DICOM or multi-page TIFF) opens as ``(frames, 1, H, W)``: one
frame is a plane in 2D and in 3D alike, napari's slider steps through the frames
(a ``(frames, H, W)`` layer would be drawn as a volume in 3D). A DICOM layer's metadata
keeps the calibrated ultrasound region and the pixels drawn on the image
(``us_region``, ``overlay``), which the panels crop to and fill before a model sees
the frame (:mod:`~napari_genmed.core.io.acquired`).
Core modules are imported inside the functions so importing this module is cheap
(no torch, nibabel or pydicom at napari start-up).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike
LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[PathLike | Sequence[PathLike]], list[LayerData]]

NIFTI_SUFFIXES = (".nii.gz", ".nii")
DICOM_SUFFIXES = (".dcm", ".dicom")
FRAME_SUFFIXES = (".png", ".tif", ".tiff")


def _kind(path: PathLike) -> str | None:
    """'nifti', 'dicom', 'frame' or None from the file name."""
    name = os.fspath(path).lower()
    for kind, suffixes in (
        ("nifti", NIFTI_SUFFIXES),
        ("dicom", DICOM_SUFFIXES),
        ("frame", FRAME_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return kind
    return None


def _single_path(path: Any) -> PathLike | None:
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, (str, os.PathLike)):
        return None
    return path


def get_reader(path: PathLike | Sequence[PathLike]) -> ReaderFunction | None:
    """The reader for one ``.nii[.gz]``, ``.dcm``/``.dicom``, ``.png`` or ``.tif[f]``."""
    single = _single_path(path)
    if single is None or _kind(single) is None:
        return None
    return read_layers


def _stem(path: PathLike) -> str:
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES + DICOM_SUFFIXES + FRAME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _warn(messages: list[str]) -> None:
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=3)


def _read_nifti(path: str) -> LayerData:
    from napari_genmed.core.io.nifti import read_nifti

    volume = read_nifti(path)
    _warn(volume.warnings)
    kwargs = {
        "name": _stem(path),
        "scale": volume.spacing_mm,
        "metadata": {
            "source": path,
            "spacing_mm": volume.spacing_mm,
            "affine": volume.affine,
            "warnings": volume.warnings,
        },
    }
    return volume.data, kwargs, "labels" if volume.is_labels else "image"


def _image_layer(path: str, data: Any, spacing: tuple[float, float], meta: dict) -> LayerData:
    if data.ndim == 3:  # a cine: each frame a plane (see the module docstring)
        data = data[:, None]
        meta = {**meta, "cine_frames": int(data.shape[0])}
        if meta.get("overlay") is not None:
            meta["overlay"] = meta["overlay"][:, None]
    scale = spacing if data.ndim == 2 else (1.0,) * (data.ndim - 2) + tuple(spacing)
    kwargs = {
        "name": _stem(path),
        "colormap": "gray",
        "contrast_limits": (0.0, 1.0),
        "scale": scale,
        "metadata": {"pixel_spacing_mm": spacing, "source": path, **meta},
    }
    return data, kwargs, "image"


def _read_dicom(path: str) -> LayerData:
    from napari_genmed.core.io.dicom import read_dicom

    image = read_dicom(path)
    _warn(image.warnings)
    meta = {
        "modality": image.modality,
        "dicom": image.metadata,
        "warnings": image.warnings,
        "us_region": image.region,
        "overlay": image.overlay,
    }
    return _image_layer(path, image.data, image.pixel_spacing_mm, meta)


def _read_frame(path: str) -> LayerData:
    from napari_genmed.core.io.frames import read_frame

    frame = read_frame(path)
    _warn(frame.warnings)
    meta = {"modality": "", "warnings": frame.warnings}
    return _image_layer(path, frame.data, frame.pixel_spacing_mm, meta)


def read_layers(path: PathLike | Sequence[PathLike]) -> list[LayerData]:
    """Read one supported file into a list with one napari LayerData tuple."""
    single = _single_path(path)
    kind = _kind(single) if single is not None else None
    if single is None or kind is None:
        raise ValueError(f"{path}: not a NIfTI, DICOM, PNG or TIFF file")
    readers = {"nifti": _read_nifti, "dicom": _read_dicom, "frame": _read_frame}
    return [readers[kind](os.fspath(single))]
