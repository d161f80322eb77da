"""npe2 single-layer writer: an Image or Labels layer saved as NIfTI.

The layer's ``scale`` gives the voxel spacing in mm and its ``translate`` the origin
(last three entries, axes z, y, x); a 2D layer is written as one slice (1, H, W).
A path without ``.nii``/``.nii.gz`` gets ``.nii.gz`` appended.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _last3(values: Any, ndim: int, default: float) -> tuple[float, float, float]:
    """The last ``ndim`` entries of a per-axis attribute, padded to three (z, y, x)."""
    if values is None:
        picked = [default] * ndim
    else:
        picked = [float(v) for v in list(values)[-ndim:]]
        picked = [default] * (ndim - len(picked)) + picked
    return tuple([default] * (3 - ndim) + picked)  # type: ignore[return-value]


def write_nifti(path: str, data: Any, attributes: dict) -> list[str]:
    """Write one layer's data as ``.nii``/``.nii.gz``; return the written path."""
    from napari_genmed.core.io.nifti import write_nifti as write_volume

    if attributes.get("multiscale") and isinstance(data, (list, tuple)):
        data = data[0]
    if attributes.get("rgb"):
        raise ValueError(f"{path}: RGB images cannot be saved as NIfTI volumes")
    array = np.asarray(data)
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{path}: only 2D or 3D layers can be saved as NIfTI (layer has {array.ndim}D "
            f"data of shape {array.shape})"
        )
    spacing = _last3(attributes.get("scale"), array.ndim, 1.0)
    origin = _last3(attributes.get("translate"), array.ndim, 0.0)
    if array.ndim == 2:
        array = array[np.newaxis]
    if not path.lower().endswith((".nii", ".nii.gz")):
        path = path + ".nii.gz"
    write_volume(path, array, spacing, origin)
    return [path]
