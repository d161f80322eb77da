"""How the patch flow sees a view: a grid of overlapping ``S`` x ``S`` patches of the
128 x 128 view (1 mm pixels), each with its position as context.

A patch starting at row ``r`` and column ``c`` has its centre at
``(r + (S - 1) / 2, c + (S - 1) / 2)``; the context is that centre scaled to [-1, 1]
over the view, so the flow can learn where in the fan a patch lies (the fan's edge,
the maternal wall near the probe, the head in the middle).
"""

from __future__ import annotations

import numpy as np

VIEW_SIZE = 128  #: density maps are computed on the views' grid (1 mm pixels)


def patch_grid(size: int, patch: int, stride: int) -> np.ndarray:
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return np.array(starts)


def patch_context(
    rows: np.ndarray, cols: np.ndarray, patch: int, size: int = VIEW_SIZE
) -> np.ndarray:
    """Patch centres in [-1, 1] (row, column): the flow's context."""
    half = (size - 1) / 2
    return np.stack(
        [(rows + (patch - 1) / 2 - half) / half, (cols + (patch - 1) / 2 - half) / half], 1
    ).astype(np.float32)


def extract(
    image: np.ndarray, patch: int, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(patches (N, 1, p, p), row starts, col starts)`` of every grid position."""
    starts = patch_grid(image.shape[0], patch, stride)
    rr, cc = np.meshgrid(starts, starts, indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    view = np.lib.stride_tricks.sliding_window_view(image, (patch, patch))
    return view[rr, cc][:, None].astype(np.float32), rr, cc
