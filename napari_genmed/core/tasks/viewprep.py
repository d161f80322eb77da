"""Acquired views -> the model's input: validated, gray, resampled, centred.

A view may be a :class:`~.ultrasound.View`, a 2D array (1 mm pixels assumed), an
``(array, pixel_spacing_mm)`` pair or a dict with ``image`` and ``spacing_mm``.
RGB(A) screenshots become gray by luminance. Integer images holding 8-bit values
(0..255, in any integer type) are divided by 255, as the training views were stored;
other integer images (12-bit data in uint16, signed data) and float images outside
[0, 1] are stretched to their own range. Each image is resampled to the model's
pixel size using its spacing (0.01-100 mm) and centre-cropped or padded to the model's view size, so
views of any size and
resolution work. Bad input raises a ``ValueError`` that names the view and the
problem.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..sim.geometry import VIEW_NAMES

MAX_SIDE = 8192  #: larger images are refused before any work
SPACING_RANGE_MM = (0.01, 100.0)  #: pixel spacings outside it are refused as implausible


def _as_array(name: str, value) -> np.ndarray:
    try:
        return np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"view {name!r} is not an image array ({exc})") from None


def _unpack(name: str, value) -> tuple[np.ndarray, float]:
    if hasattr(value, "image") and hasattr(value, "pose"):
        return np.asarray(value.image), float(value.pose.spacing_mm)
    if isinstance(value, dict):
        if "image" not in value:
            raise ValueError(f"view {name!r}: a dict view needs an 'image' entry")
        return _as_array(name, value["image"]), value.get("spacing_mm", 1.0)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and not isinstance(value[1], (list, tuple, np.ndarray))
    ):
        return _as_array(name, value[0]), value[
            1
        ]  # (image, spacing): the spacing is checked by the caller
    return _as_array(name, value), 1.0


def _stretch(img: np.ndarray) -> np.ndarray:
    """``img`` mapped linearly onto [0, 1] (float32; zeros when constant)."""
    img = img.astype(np.float64)
    lo, hi = float(img.min()), float(img.max())
    return (
        ((img - lo) / (hi - lo)).astype(np.float32) if hi > lo else np.zeros(img.shape, np.float32)
    )


def _scale_integers(img: np.ndarray) -> np.ndarray:
    """8-bit values (in any integer type) / 255; any other integer data stretched to
    its own range, so a 12-bit or signed image is neither dimmed nor clipped."""
    lo, hi = int(img.min()), int(img.max())
    if lo >= 0 and hi <= 255:
        return img.astype(np.float32) / 255.0
    return _stretch(img)


def to_gray(name: str, img: np.ndarray) -> np.ndarray:
    rgb = img.ndim == 3 and img.shape[-1] in (3, 4)
    if img.ndim != 2 and not rgb:
        raise ValueError(
            f"view {name!r} must be a 2D image (or an RGB screenshot), got shape {img.shape}"
        )
    if img.dtype == bool or img.dtype.kind not in "iuf":
        raise ValueError(f"view {name!r} has unsupported dtype {img.dtype}")
    if rgb:
        img = img[..., :3]
    if img.dtype.kind in "iu":
        img = _scale_integers(img)  # before the luminance: gray and colour 8-bit images scale alike
    else:
        img = img.astype(np.float32)
        if not np.all(np.isfinite(img)):
            raise ValueError(f"view {name!r} holds NaN or infinite values")
    if rgb:
        img = (img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.float32)
    if img.max() > 1.0 or img.min() < 0.0:
        img = _stretch(img)
    return img


def prepare_view(name: str, value, view_size: int, pixel_mm: float = 1.0) -> np.ndarray:

    from scipy import ndimage  # imported here: importing the package stays quick

    img, spacing = _unpack(name, value)
    if (
        isinstance(spacing, (bool, np.bool_))
        or not isinstance(spacing, numbers.Real)
        or not np.isfinite(spacing)
        or spacing <= 0
    ):
        raise ValueError(f"view {name!r}: pixel spacing must be a number > 0 (mm), got {spacing!r}")
    lo_mm, hi_mm = SPACING_RANGE_MM
    if not lo_mm <= spacing <= hi_mm:
        raise ValueError(
            f"view {name!r}: a pixel spacing of {spacing!r} mm is implausible (expected {lo_mm} "
            f"to {hi_mm} mm)"
        )
    if img.ndim < 2:
        raise ValueError(
            f"view {name!r} must be a 2D image (or an RGB screenshot), got shape {img.shape}"
        )
    if img.size == 0:
        raise ValueError(f"view {name!r} is empty")
    if max(img.shape[:2]) > MAX_SIDE:
        raise ValueError(
            f"view {name!r} of shape {img.shape} is larger than {MAX_SIDE} pixels a side"
        )
    img = to_gray(name, img)
    if float(img.max() - img.min()) < 1e-6:
        raise ValueError(f"view {name!r} is constant: there is no image to reconstruct from")
    factor = float(spacing) / pixel_mm
    if abs(factor - 1.0) > 1e-6:
        # keep only the centre window the model sees (so a fine, large image never
        # becomes a huge one), blur before shrinking (no aliasing), then resample
        need = int(np.ceil(view_size / factor)) + 4
        r0, c0 = max(0, (img.shape[0] - need) // 2), max(0, (img.shape[1] - need) // 2)
        img = img[r0 : r0 + need, c0 : c0 + need]
        block = int(0.5 / factor)
        if block >= 2:  # much finer than the model: average blocks first (fast, no aliasing)
            h, w = (img.shape[0] // block) * block, (img.shape[1] // block) * block
            if h and w:
                img = img[:h, :w].reshape(h // block, block, w // block, block).mean((1, 3))
                factor *= block
        if factor < 1.0:
            img = ndimage.gaussian_filter(img, 0.5 / factor)
        img = ndimage.zoom(img, factor, order=1, grid_mode=True, mode="grid-constant")
    out = np.zeros((view_size, view_size), np.float32)
    h, w = img.shape
    # centre crop or pad (the probe side, the top rows, stays on top when cropping)
    src_r = slice(max(0, (h - view_size) // 2), max(0, (h - view_size) // 2) + min(h, view_size))
    src_c = slice(max(0, (w - view_size) // 2), max(0, (w - view_size) // 2) + min(w, view_size))
    dst_r = slice(max(0, (view_size - h) // 2), max(0, (view_size - h) // 2) + min(h, view_size))
    dst_c = slice(max(0, (view_size - w) // 2), max(0, (view_size - w) // 2) + min(w, view_size))
    out[dst_r, dst_c] = img[src_r, src_c]
    return np.clip(out, 0.0, 1.0)


def prepare_views(
    views: dict, view_size: int, pixel_mm: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(3, S, S)`` images ordered axial, sagittal, coronal and the ``(3,)`` mask."""
    if not isinstance(views, dict):
        raise ValueError("views must be a dict of view name -> image")
    unknown = [k for k in views if k not in VIEW_NAMES]
    if unknown:
        raise ValueError(
            f"unknown view(s) {', '.join(map(repr, unknown))}; known views are "
            f"{', '.join(VIEW_NAMES)}"
        )
    images = np.zeros((len(VIEW_NAMES), view_size, view_size), np.float32)
    mask = np.zeros(len(VIEW_NAMES), np.float32)
    for k, name in enumerate(VIEW_NAMES):
        if views.get(name) is not None:
            images[k] = prepare_view(name, views[name], view_size, pixel_mm)
            mask[k] = 1.0
    return images, mask
