"""Where the latent density map lies in the viewer, and where a click lands on it.

The map is a 2D image over two latent dimensions, placed beside the skull (right of
everything else) so the 3D scene keeps the head; :class:`MapPlace` converts between
its world coordinates and latent values (prior sigma around the point estimate), and
:func:`click_on_plane` finds where a click meets the plane 2D layers are drawn in.
Plain numpy: no Qt.
"""

from __future__ import annotations

import numpy as np

from ..core.tasks.latent import SLIDER_RANGE

GRID = 64  #: map cells per side
IMAGE, POINTS = "latent density", "current latent"
GAP_MM = 16.0  #: between the skull and the map


class MapPlace:
    """Where the map lies in the viewer's 2D world (the last two world axes):
    ``top_left`` (world row, column) of cell (0, 0)'s corner and ``side`` (world
    units); rows run from +SLIDER_RANGE (top) to -SLIDER_RANGE, columns from
    -SLIDER_RANGE to +SLIDER_RANGE, in prior sigma around the point estimate."""

    def __init__(self, top_left=(0.0, 0.0), side: float = 128.0):
        self.top_left, self.side = (float(top_left[0]), float(top_left[1])), float(side)

    @classmethod
    def beside(cls, viewer, skip=(IMAGE, POINTS)) -> MapPlace:
        """Right of every other layer, as tall as they are (a 128-unit square in an
        empty viewer)."""
        layers = [layer for layer in viewer.layers if layer.name not in skip]
        if not layers:
            return cls()
        lo = np.min([np.asarray(layer.extent.world[0])[-2:] for layer in layers], 0)
        hi = np.max([np.asarray(layer.extent.world[1])[-2:] for layer in layers], 0)
        side = float(hi[0] - lo[0]) if hi[0] > lo[0] else 128.0
        return cls((lo[0], hi[1] + GAP_MM), side)

    @property
    def scale(self) -> float:
        return self.side / GRID

    @property
    def translate(
        self,
    ) -> tuple[float, float]:  # napari places pixel centres at translate + index * scale
        return (self.top_left[0] + self.scale / 2, self.top_left[1] + self.scale / 2)

    def to_world(self, u_row: float, u_col: float) -> tuple[float, float]:
        fr = (SLIDER_RANGE - u_row) / (2 * SLIDER_RANGE)
        fc = (u_col + SLIDER_RANGE) / (2 * SLIDER_RANGE)
        return (self.top_left[0] + fr * self.side, self.top_left[1] + fc * self.side)

    def to_values(self, world_row: float, world_col: float) -> tuple[float, float] | None:
        """Latent values (sigma) at a world point, ``None`` off the map."""
        fr = (world_row - self.top_left[0]) / self.side
        fc = (world_col - self.top_left[1]) / self.side
        if not (0 <= fr <= 1 and 0 <= fc <= 1):
            return None
        return (SLIDER_RANGE - 2 * SLIDER_RANGE * fr, -SLIDER_RANGE + 2 * SLIDER_RANGE * fc)


def click_on_plane(position, view_direction, dims_displayed) -> tuple[float, float] | None:
    """The world (row, column) of the last two axes where a click lands on 2D
    layers: in 2D display the cursor itself; in 3D where the view ray through the
    cursor meets the plane in which napari draws 2D layers (first axis = 0)."""
    p = np.asarray(position, float)
    if dims_displayed is None or len(dims_displayed) < 3 or view_direction is None:
        return float(p[-2]), float(p[-1])
    d = np.asarray(view_direction, float)
    if abs(d[-3]) < 1e-9:
        return None  # looking along the map's plane
    t = -p[-3] / d[-3]
    q = p + t * d
    return float(q[-2]), float(q[-1])
