"""The latent explorer's density section: a 2D slice of the latent flow's density.

Two latent dimensions (default: the two most effective) span a map of log q(z) of
the aggregate posterior (the bundled latent flow, fitted to HiREC-CVAE), the other
dimensions at the current latent; the current latent is the white cross. A click on
the map moves the latent there (and the skull follows). The map is drawn in the
panel rather than as layers: the viewer's 3D scene stays the skull's.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel

from ..core.latent import SLIDER_RANGE

MAP_PX = 200
GRID = 64


class ClickMap(QLabel):
    """A QLabel that reports clicks as fractions (row, column) of its pixmap."""

    def __init__(self, on_click):
        super().__init__()
        self.on_click = on_click
        self.setFixedSize(MAP_PX, MAP_PX)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def mousePressEvent(self, event):  # noqa: N802 (Qt name)
        pos = event.position() if hasattr(event, "position") else event.pos()
        self.on_click(float(pos.y()) / MAP_PX, float(pos.x()) / MAP_PX)


def colour(logp: np.ndarray) -> np.ndarray:
    """log-density -> RGB (dark = unlikely, bright = likely), the top 12 nats shown."""
    t = np.clip((logp - (logp.max() - 12.0)) / 12.0, 0, 1)
    return np.stack([t**0.7, t**1.6, 0.35 * t + 0.25 * (1 - t)], -1)


class LatentDensity(Container):
    def __init__(self, explorer):
        super().__init__(labels=True)
        self.explorer = explorer
        self.flow = None
        self.logp = None
        # choices from a callable: napari resets the choices of docked widgets whenever
        # the layer list changes, and a fixed list set later would be lost
        self.dim_x = ComboBox(choices=self._dims, label="map rows: z")
        self.dim_y = ComboBox(choices=self._dims, label="map columns: z")
        self.show_button = PushButton(text="Show latent density")
        self.map = ClickMap(self.on_click)
        self.caption = Label(value="")
        self.extend([self.dim_x, self.dim_y, self.show_button, self.caption])
        self.native.layout().addWidget(self.map)
        self.map.setVisible(False)
        self.show_button.changed.connect(self.compute)

    def _dims(self, widget=None) -> list[int]:
        state = self.explorer.state if hasattr(self, "explorer") else None
        return list(state.directions.order) if state is not None else []

    def bind(self, state):
        order = list(state.directions.order)
        for combo in (self.dim_x, self.dim_y):
            combo.reset_choices()
        self.dim_x.value, self.dim_y.value = order[0], order[1] if len(order) > 1 else order[0]
        self.flow, self.logp = None, None
        self.map.setVisible(False)
        self.caption.value = ""

    def _load_flow(self, state):
        from .. import api

        if self.flow is not None:
            return self.flow
        flow = api.load_model("latent-flow", "cpu")
        cvae = (getattr(flow, "card", {}) or {}).get("metrics", {}).get("cvae")
        if cvae != state.model.kind or flow.config.features != state.dims:
            raise ValueError(f"the bundled latent flow describes {cvae}'s {flow.config.features}-D latent, not this {state.dims}-D {state.model.kind}")
        self.flow = flow
        return flow

    def compute(self):
        from ..core.latentflow import density_slice

        state = self.explorer.state
        if state is None:
            return None
        try:
            flow = self._load_flow(state)
            self.logp, _ = density_slice(flow, state.z, (int(self.dim_x.value), int(self.dim_y.value)), state.sigma, state.reference, GRID, SLIDER_RANGE)
        except ValueError as exc:
            show_error(f"Latent density: {exc}")
            return None
        self.map.setVisible(True)
        self.redraw()
        return self.logp

    def redraw(self):
        """The map with the current latent marked (called after every move)."""
        state = self.explorer.state
        if self.logp is None or state is None:
            return
        rgb = colour(self.logp)
        img = np.kron(rgb, np.ones((MAP_PX // GRID + 1, MAP_PX // GRID + 1, 1)))[:MAP_PX, :MAP_PX]
        u = state.values()
        i, j = int(self.dim_x.value), int(self.dim_y.value)
        r = int(round((SLIDER_RANGE - u[i]) / (2 * SLIDER_RANGE) * (MAP_PX - 1)))
        c = int(round((u[j] + SLIDER_RANGE) / (2 * SLIDER_RANGE) * (MAP_PX - 1)))
        if 0 <= r < MAP_PX and 0 <= c < MAP_PX:
            img[max(r - 6, 0) : r + 7, c] = 1.0
            img[r, max(c - 6, 0) : c + 7] = 1.0
        data = np.ascontiguousarray((img * 255).astype(np.uint8))
        self.map.setPixmap(QPixmap.fromImage(QImage(data.data, MAP_PX, MAP_PX, 3 * MAP_PX, QImage.Format.Format_RGB888).copy()))
        here = self._log_q(state.z)
        self.caption.value = f"log q(z) here: {here:.1f} nats (map: z{i} down, z{j} across, +-{SLIDER_RANGE:g} sigma)"

    def _log_q(self, z: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            return float(self.flow.log_prob(torch.as_tensor(z[None])).item())

    def on_click(self, row_frac: float, col_frac: float):
        state = self.explorer.state
        if state is None or self.logp is None:
            return
        i, j = int(self.dim_x.value), int(self.dim_y.value)
        self.explorer.apply(lambda s: (s.set_value(i, SLIDER_RANGE - 2 * SLIDER_RANGE * row_frac), s.set_value(j, -SLIDER_RANGE + 2 * SLIDER_RANGE * col_frac)))
