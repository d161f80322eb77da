"""Acquired view files (DICOM, PNG/TIFF, NIfTI slices) as the frames the models take.

An :class:`Acquisition` is what one file holds: its frames ``(F, H, W)`` gray in
[0, 1] (a still image is one frame, a cine many), the pixel spacing, the calibrated
ultrasound region and the pixels drawn on the image rather than echoed (colour, DICOM
overlay planes, thin white marks). :func:`view_of` gives one frame as the models take
it: cropped to the region, the drawn pixels filled from their surroundings.
:func:`~..tasks.plausibility.best_frame` is the frame of a cine the plane gate finds
most plausible as a slot's plane (the user asks for it; nothing picks a frame
silently).

Filling uses normalised convolution (Knutsson & Westin, CVPR 1993): the Gaussian
weighted mean of the pixels that are not drawn, ``G * (I m) / G * m`` with ``m`` the
mask of kept pixels. It is written here (three scipy calls) rather than taken from
an inpainting library: scikit-image's biharmonic inpainting takes seconds on a
cine frame's overlay and OpenCV would be one more large dependency for one call.

Thin bright marks (calipers, text, scale ticks burned into a gray image) are the
pixels at least :data:`MARK_LEVEL` bright that a grey opening of
:data:`MARK_WIDTH_PX` pixels removes by more than :data:`MARK_CONTRAST`: lines one
or two pixels wide. A skull echo is as bright but several pixels thick at the
resolutions scanners store, so it stays (measured on the project's simulated planes:
see ``tests/core/io/test_acquired.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

MARK_LEVEL = 0.7  #: a burned-in mark is drawn bright (text is often light gray, not white)
MARK_WIDTH_PX = 5  #: the opening that removes lines up to two pixels wide
MARK_CONTRAST = 0.35  #: by this much at least above the opened image
FILL_SIGMA_PX = 4.0  #: the reach of the filling (a caliper cross's arm is a few pixels)
ANISOTROPY = 0.05  #: row and column spacings further apart than this are reported

DICOM = (".dcm", ".dicom")
FRAMES = (".png", ".tif", ".tiff")
NIFTI = (".nii", ".nii.gz")


@dataclass
class Acquisition:
    """One acquired file's frames, calibration and drawn-on pixels."""

    frames: np.ndarray  #: float32 (F, H, W) in [0, 1]
    spacing_mm: float  #: pixel size (the mean of row and column spacing)
    source: str  #: the file
    region: tuple[int, int, int, int] | None = None  #: ultrasound area (r0, c0, r1, c1)
    overlay: np.ndarray | None = None  #: bool (F, H, W): colour / overlay-plane pixels
    warnings: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in DICOM + FRAMES + NIFTI:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _mean_spacing(path: Path, spacing, warnings: list) -> float:
    row, col = (float(s) for s in spacing)
    if abs(row - col) > ANISOTROPY * max(row, col):
        warnings.append(
            f"{path}: pixels are {row:.3f} x {col:.3f} mm (not square); the models take "
            f"square pixels of {(row + col) / 2:.3f} mm"
        )
    return (row + col) / 2


def _nifti_slice(path: Path):
    from .nifti import read_nifti

    volume = read_nifti(path)
    data, spacing = np.asarray(volume.data), tuple(volume.spacing_mm)
    if data.ndim == 3:
        flat = [a for a in range(3) if data.shape[a] == 1]
        if not flat:
            raise ValueError(
                f"{path}: a {data.shape} volume, not a slice (a view is a NIfTI with one "
                "axis of size 1, or a 2D NIfTI)"
            )
        data = np.take(data, 0, axis=flat[0])
        spacing = tuple(s for a, s in enumerate(spacing) if a != flat[0])
    data = data.astype(np.float32)
    if data.size and (data.min() < 0 or data.max() > 1):
        lo, hi = float(data.min()), float(data.max())
        data = (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)
    return data[None], spacing, volume.warnings


def read_acquisition(path: str | os.PathLike) -> Acquisition:
    """Read one view file with the product's validating readers; every problem is a
    ``ValueError`` naming the file."""
    path = Path(path)
    suffix = _suffix(path)
    region = overlay = None
    if suffix in DICOM:
        from .dicom import read_dicom

        image = read_dicom(path)
        data, spacing, warnings = image.data, image.pixel_spacing_mm, list(image.warnings)
        region, overlay = image.region, image.overlay
    elif suffix in FRAMES:
        from .frames import read_frame

        image = read_frame(path)
        data, spacing, warnings = image.data, image.pixel_spacing_mm, list(image.warnings)
    elif suffix in NIFTI:
        data, spacing, warnings = _nifti_slice(path)
    else:
        raise ValueError(f"{path}: not a DICOM, PNG, TIFF or NIfTI file")
    frames = np.asarray(data, np.float32)
    frames = frames[None] if frames.ndim == 2 else frames
    if overlay is not None:
        overlay = overlay[None] if overlay.ndim == 2 else overlay
    mm = _mean_spacing(path, spacing, warnings)
    return Acquisition(frames, mm, str(path), region, overlay, warnings)


def thin_marks(image: np.ndarray) -> np.ndarray:
    """Thin bright lines and text drawn on a gray image (bool, its shape); an image
    with values above 1 (8-bit, say) is judged relative to its maximum."""
    img = np.asarray(image, np.float32)
    top = float(img.max()) if img.size else 0.0
    if top > 1.0:
        img = img / top
    opened = ndimage.grey_opening(img, size=(MARK_WIDTH_PX, MARK_WIDTH_PX))
    return (img >= MARK_LEVEL) & (img - opened > MARK_CONTRAST)


def fill(image: np.ndarray, drawn: np.ndarray, sigma: float = FILL_SIGMA_PX) -> np.ndarray:
    """``image`` with the ``drawn`` pixels replaced by the Gaussian-weighted mean of the
    kept pixels around them (normalised convolution); kept pixels are unchanged."""
    img = np.asarray(image, np.float32)
    if not drawn.any():
        return img
    keep = (~drawn).astype(np.float32)
    num = ndimage.gaussian_filter(img * keep, sigma)
    den = ndimage.gaussian_filter(keep, sigma)
    filled = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0).astype(np.float32)
    return np.where(drawn, filled, img)


def drawn_pixels(acq: Acquisition, frame: int) -> np.ndarray:
    """Frame ``frame``'s pixels drawn on the image: overlay (colour, overlay planes)
    and thin bright marks."""
    return _drawn(acq.frames[frame], None if acq.overlay is None else acq.overlay[frame])


def _drawn(image: np.ndarray, overlay: np.ndarray | None) -> np.ndarray:
    marks = thin_marks(image)
    return marks if overlay is None else marks | np.asarray(overlay, bool)


def clean_frame(image: np.ndarray, region=None, overlay: np.ndarray | None = None) -> np.ndarray:
    """A 2D gray frame as the models take it: the drawn pixels (``overlay`` and thin
    bright marks) filled, then cropped to ``region`` (r0, c0, r1, c1) when given."""
    image = fill(image, _drawn(image, overlay))
    if region is not None:
        r0, c0, r1, c1 = (int(v) for v in region)
        image = image[r0:r1, c0:c1]
    return np.ascontiguousarray(image)


def view_of(acq: Acquisition, frame: int = 0) -> tuple[np.ndarray, float]:
    """``(image, pixel mm)`` of frame ``frame`` as the models take it (:func:`clean_frame`)."""
    if not 0 <= int(frame) < acq.n_frames:
        raise ValueError(f"{acq.source} has {acq.n_frames} frame(s); there is no frame {frame}")
    k = int(frame)
    overlay = None if acq.overlay is None else acq.overlay[k]
    return clean_frame(acq.frames[k], acq.region, overlay), acq.spacing_mm
