"""The latent explorer's density section: a 2D slice of the latent flow's density
as napari layers.

Two latent dimensions (default: the two most effective) span a map of log q(z) of
the aggregate posterior (the bundled latent flow, fitted to HiREC-CVAE), the other
dimensions held at the current latent. The map is an Image layer ("latent
density"), the current latent a Points layer ("current latent"), both 2D, placed
beside the skull (right of everything else in the viewer) so the 3D scene keeps
the head. A click on the map (2D or 3D display: in 3D the view ray is met with the
map's plane) or dragging the point (select mode) moves the latent there, and the
skull follows. The map follows the other dimensions too: after a move it is
recomputed in a worker (a debounced, latest-wins job): a 64 x 64 slice of the
bundled flow costs 3-4 ms, a larger flow or a busy CPU much more.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer

from ..core.tasks.latent import SLIDER_RANGE
from .jobs import abandon, start_job

GRID = 64  #: map cells per side
IMAGE, POINTS = "latent density", "current latent"
GAP_MM = 16.0  #: between the skull and the map
FOLLOW_MS = 120  #: the map is recomputed this long after the last move


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


def density_map_job(flow, z, dims, sigma, reference):
    from ..core.tasks.latent_density import density_slice

    return density_slice(flow, z, dims, sigma, reference, GRID, SLIDER_RANGE)[0]


class LatentDensity(Container):
    def __init__(self, explorer):
        super().__init__(labels=True)
        self.explorer = explorer
        self.viewer = explorer.viewer
        self.flow = None
        self.logp = None
        self.place: MapPlace | None = None
        self.worker = None
        self.dirty = False
        self._syncing = False
        # choices from a callable: napari resets the choices of docked widgets whenever
        # the layer list changes, and a fixed list set later would be lost
        self.dim_x = ComboBox(choices=self._dims, label="map rows: z")
        self.dim_y = ComboBox(choices=self._dims, label="map columns: z")
        self.show_button = PushButton(text="Show latent density")
        self.caption = Label(value="")
        self.caption.native.setWordWrap(True)
        self.extend([self.dim_x, self.dim_y, self.show_button, self.caption])
        self.show_button.changed.connect(self.compute)
        self.dim_x.changed.connect(lambda _: self._replot())
        self.dim_y.changed.connect(lambda _: self._replot())
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        self.timer.setInterval(FOLLOW_MS)
        self.timer.timeout.connect(self._follow)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        holder = self
        self.native.destroyed.connect(lambda *_: holder.disconnect_viewer())

    def disconnect_viewer(self):
        """Stop the follow worker and timer and leave the viewer's mouse callbacks (the panel is gone)."""
        abandon(self.worker)
        self.timer.stop()
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)

    def _dims(self, widget=None) -> list[int]:
        state = self.explorer.state if hasattr(self, "explorer") else None
        return list(state.directions.order) if state is not None else []

    @property
    def dims(self) -> tuple[int, int]:
        return int(self.dim_x.value), int(self.dim_y.value)

    @property
    def shown(self) -> bool:
        return self.logp is not None and IMAGE in self.viewer.layers

    def bind(self, state):
        order = list(state.directions.order)
        with self.dim_x.changed.blocked(), self.dim_y.changed.blocked():
            for combo in (self.dim_x, self.dim_y):
                combo.reset_choices()
            self.dim_x.value, self.dim_y.value = order[0], order[1] if len(order) > 1 else order[0]
        self.flow, self.logp = None, None
        for name in (IMAGE, POINTS):
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        self.caption.value = ""

    def _load_flow(self, state):
        from .. import api

        if self.flow is not None:
            return self.flow
        flow = api.load_model("latent-flow", "cpu")
        cvae = (getattr(flow, "card", {}) or {}).get("metrics", {}).get("cvae")
        if cvae != state.model.kind or flow.config.features != state.dims:
            raise ValueError(
                f"the bundled latent flow describes {cvae}'s {flow.config.features}-D latent, not this {state.dims}-D {state.model.kind}"
            )
        self.flow = flow
        return flow

    # -- the map ----------------------------------------------------------------
    def compute(self):
        """Compute the map now (on this thread) and show it as layers; returns it."""
        state = self.explorer.state
        if state is None:
            show_error("Latent density: load a model in the Skull reconstruction panel first.")
            return None
        try:
            flow = self._load_flow(state)
            if self.dims[0] == self.dims[1]:
                raise ValueError("pick two different dimensions for the map's rows and columns")
            logp = density_map_job(flow, state.z, self.dims, state.sigma, state.reference)
        except ValueError as exc:
            show_error(f"Latent density: {exc}")
            return None
        self._show_map(logp)
        return self.logp

    def _replot(self):
        if self.shown:
            self.compute()

    def _show_map(self, logp: np.ndarray):
        from ..layer_data import set_layer

        if self.place is None or IMAGE not in self.viewer.layers:
            self.place = MapPlace.beside(self.viewer)
        self.logp = logp
        i, j = self.dims
        place = self.place
        top = float(logp.max())
        meta = {"genmed_latent_map": {"rows": i, "cols": j, "span_sigma": SLIDER_RANGE}}
        set_layer(
            self.viewer,
            logp,
            {
                "name": IMAGE,
                "scale": (place.scale,) * 2,
                "translate": place.translate,
                "colormap": "magma",
                "contrast_limits": (top - 12.0, top),
                "metadata": meta,
            },
            "image",
        )
        self.mark()

    def redraw(self):
        """After every move: mark the current latent and schedule the map to follow."""
        if self.mark():
            self.timer.start()

    def mark(self) -> bool:
        """The Points layer at the current latent, and the caption."""
        state = self.explorer.state
        if not self.shown or state is None or self.place is None:
            return False
        u = state.values()
        i, j = self.dims
        point = np.asarray([self.place.to_world(u[i], u[j])], float)
        self._syncing = True
        try:
            if POINTS in self.viewer.layers:
                layer = self.viewer.layers[POINTS]
                if not np.allclose(np.asarray(layer.data)[-1:], point) or len(layer.data) != 1:
                    layer.data = point
            else:
                layer = self.viewer.add_points(
                    point,
                    name=POINTS,
                    size=self.place.side / 18,
                    symbol="cross",
                    face_color="white",
                    border_color="black",
                    metadata={"genmed_latent_point": True},
                )
                layer.events.data.connect(self._on_point_moved)
        finally:
            self._syncing = False
        self.caption.value = (
            f"here z{i} = {u[i]:+.2f}, z{j} = {u[j]:+.2f} sigma: log q(z) {self._log_q(state.z):.1f} nats "
            f"(map: z{i} up, z{j} right, +-{SLIDER_RANGE:g} sigma; "
            "click the map or drag the point to move)"
        )
        return True

    def _log_q(self, z: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            return float(self.flow.log_prob(torch.as_tensor(z[None])).item())

    def _follow(self):
        """Recompute the map for the other dimensions' current values, in a worker."""
        state = self.explorer.state
        if not self.shown or state is None:
            return
        if self.worker is not None:
            self.dirty = True
            return
        self.dirty = False
        dims = self.dims
        self.worker = start_job(
            density_map_job,
            self.flow,
            state.z.copy(),
            dims,
            state.sigma,
            state.reference,
            what="Latent density",
            on_result=lambda logp: self._followed(logp, dims),
            on_finished=self._follow_finished,
            progress=False,
        )

    def _followed(self, logp, dims):
        if self.shown and dims == self.dims:
            self._show_map(logp)

    def _follow_finished(self):
        self.worker = None
        if self.dirty:
            self._follow()

    # -- moving the latent from the map ----------------------------------------
    def move_to(self, world_row: float, world_col: float) -> bool:
        """Move the latent to a world point of the map; False off the map."""
        state = self.explorer.state
        if state is None or self.place is None or not self.shown:
            return False
        values = self.place.to_values(world_row, world_col)
        if values is None:
            return False
        i, j = self.dims
        self.explorer.apply(lambda s: (s.set_value(i, values[0]), s.set_value(j, values[1])))
        return True

    def _on_point_moved(self, event=None):
        if self._syncing or POINTS not in self.viewer.layers:
            return
        if getattr(event, "action", "changed") not in ("changed", None):
            return  # napari also reports while dragging ("changing"): move once, when it lands
        data = np.asarray(self.viewer.layers[POINTS].data)
        if len(data) and not self.move_to(*data[-1][-2:]):
            self.mark()  # dropped off the map: back to where the latent is

    def _on_mouse(self, viewer, event):
        """A click (press and release without dragging) on the map moves the latent."""
        if not self.shown or event.type != "mouse_press":
            return
        yield
        dragged = False
        while event.type == "mouse_move":
            dragged = True
            yield
        if dragged:
            return
        where = click_on_plane(
            event.position,
            getattr(event, "view_direction", None),
            getattr(event, "dims_displayed", None),
        )
        if where is not None:
            self.move_to(*where)
