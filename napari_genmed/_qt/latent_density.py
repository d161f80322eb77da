"""The latent explorer's density section: a 2D slice of the latent flow's density
as napari layers.

Two latent dimensions (default: the two most effective) span a map of log q(z) of
the aggregate posterior (the bundled latent flow, fitted to HiREC-CVAE;
:mod:`~napari_genmed.core.tasks.latent_density`), the other dimensions held at the
current latent. The map is an Image layer ("latent density"), the current latent a
Points layer ("current latent"), both 2D, placed beside the skull
(:mod:`.latent_map`). A click on the map (2D or 3D display) or dragging the point
moves the latent there, and the skull follows. After a move the map is recomputed
in a worker (debounced, latest wins). Another panel (Flow density) may ask for the
map through the viewer's state; the section answers with a summary of it there.
"""

from __future__ import annotations

import contextlib

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer

from ..core.tasks.latent import SLIDER_RANGE
from ..core.tasks.latent_density import check_flow_fits, density_slice, log_density
from ..state import LatentMap
from .jobs import abandon, start_job, watch
from .latent_map import GRID, IMAGE, POINTS, MapPlace, click_on_plane
from .layers import MADE_BY, own_layer, own_name, remove_own, set_layer

OWNER = "latent explorer"  #: the maker of the latent density map and its marker
FOLLOW_MS = 120  #: the map is recomputed this long after the last move


def density_map_job(flow, z, dims, sigma, reference):
    return density_slice(flow, z, dims, sigma, reference, GRID, SLIDER_RANGE)[0]


class LatentDensity(Container):
    def __init__(self, explorer):
        super().__init__(labels=True)
        self.explorer = explorer  #: the Latent explorer this section belongs to
        self.viewer = explorer.viewer
        self.flow = None
        self.logp = None
        self.place: MapPlace | None = None
        self.worker = None
        self.dirty = False
        self._syncing = False
        # choices from a callable: napari resets the choices of docked widgets whenever
        # the layer list changes, and a fixed list set later would be lost
        self.dim_x = ComboBox(
            choices=self._dims,
            label="rows: z",
            tooltip="the latent dimension on the map's vertical axis",
        )
        self.dim_y = ComboBox(
            choices=self._dims,
            label="columns: z",
            tooltip="the latent dimension on the map's horizontal axis",
        )
        self.show_button = PushButton(
            text="Show latent density", tooltip="log q(z) over the two dimensions, beside the skull"
        )
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
        watch(self, [explorer.state.latent_map_requested], self.compute)
        holder = self
        self.native.destroyed.connect(lambda *_: holder.disconnect_viewer())

    def disconnect_viewer(self):
        """Stop the follow worker and timer and leave the viewer's mouse callbacks."""
        abandon(self.worker)
        with contextlib.suppress(RuntimeError):  # Qt deleted the timer first (window closing)
            self.timer.stop()
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)

    @property
    def latent(self):
        return self.explorer.latent if hasattr(self, "explorer") else None

    def _dims(self, widget=None) -> list[int]:
        return list(self.latent.directions.order) if self.latent is not None else []

    @property
    def dims(self) -> tuple[int, int]:
        return int(self.dim_x.value), int(self.dim_y.value)

    @property
    def shown(self) -> bool:
        return self.logp is not None and own_layer(self.viewer, IMAGE, OWNER) is not None

    def bind(self, latent):
        order = list(latent.directions.order)
        with self.dim_x.changed.blocked(), self.dim_y.changed.blocked():
            for combo in (self.dim_x, self.dim_y):
                combo.reset_choices()
            self.dim_x.value, self.dim_y.value = order[0], order[1] if len(order) > 1 else order[0]
        self.flow, self.logp = None, None
        for name in (IMAGE, POINTS):
            remove_own(self.viewer, name, OWNER)
        self.caption.value = ""
        self.explorer.state.set_latent_map(None)

    def _load_flow(self, latent):
        from ..core.io.checkpoint import load_model

        if self.flow is None:
            flow = load_model("latent-flow", "cpu")
            check_flow_fits(flow, latent.model)
            self.flow = flow
        return self.flow

    # -- the map ----------------------------------------------------------------
    def compute(self):
        """Compute the map now (on this thread) and show it as layers; returns it."""
        latent = self.latent
        if latent is None:
            show_error("Latent density: load a model in the Skull reconstruction panel first.")
            return None
        try:
            flow = self._load_flow(latent)
            if self.dims[0] == self.dims[1]:
                raise ValueError("pick two different dimensions for the map's rows and columns")
            logp = density_map_job(flow, latent.z, self.dims, latent.sigma, latent.reference)
        except ValueError as exc:
            show_error(f"Latent density: {exc}")
            return None
        self._show_map(logp)
        return self.logp

    def _replot(self):
        if self.shown:
            self.compute()

    def _show_map(self, logp: np.ndarray):
        new = self.place is None or own_layer(self.viewer, IMAGE, OWNER) is None
        if new:
            self.place = MapPlace.beside(self.viewer)
        self.logp = logp
        i, j = self.dims
        top = float(logp.max())
        kwargs = {
            "name": IMAGE,
            "scale": (self.place.scale,) * 2,
            "translate": self.place.translate,
            "colormap": "magma",
            "contrast_limits": (top - 12.0, top),
            "metadata": {"genmed_latent_map": {"rows": i, "cols": j, "span_sigma": SLIDER_RANGE}},
        }
        set_layer(self.viewer, logp, kwargs, "image", OWNER)
        self.mark()
        if new and self.viewer.dims.ndisplay == 3:
            self.viewer.reset_view()  # the map beside the head: the camera takes both in

    def redraw(self):
        """After every move: mark the current latent and schedule the map to follow."""
        if self.mark():
            self.timer.start()

    def mark(self) -> bool:
        """The Points layer at the current latent, the caption, and the state's summary."""
        latent = self.latent
        if not self.shown or latent is None or self.place is None:
            return False
        u = latent.values()
        i, j = self.dims
        point = np.asarray([self.place.to_world(u[i], u[j])], float)
        self._syncing = True
        try:
            layer = own_layer(self.viewer, POINTS, OWNER)
            if layer is not None:
                if not np.allclose(np.asarray(layer.data)[-1:], point) or len(layer.data) != 1:
                    layer.data = point
            else:
                layer = self.viewer.add_points(
                    point,
                    name=own_name(self.viewer, POINTS, OWNER),
                    size=self.place.side / 18,
                    symbol="cross",
                    face_color="white",
                    border_color="black",
                    metadata={"genmed_latent_point": True, MADE_BY: OWNER},
                )
                layer.events.data.connect(self._on_point_moved)
        finally:
            self._syncing = False
        summary = LatentMap(
            i, j, (float(u[i]), float(u[j])), log_density(self.flow, latent.z), SLIDER_RANGE
        )
        self.caption.value = summary.describe()
        self.explorer.state.set_latent_map(summary)
        return True

    def _follow(self):
        """Recompute the map for the other dimensions' current values, in a worker."""
        latent = self.latent
        if not self.shown or latent is None:
            return
        if self.worker is not None:
            self.dirty = True
            return
        self.dirty = False
        dims = self.dims
        self.worker = start_job(
            density_map_job,
            self.flow,
            latent.z.copy(),
            dims,
            latent.sigma,
            latent.reference,
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
        if self.latent is None or self.place is None or not self.shown:
            return False
        values = self.place.to_values(world_row, world_col)
        if values is None:
            return False
        i, j = self.dims
        self.explorer.apply(lambda s: (s.set_value(i, values[0]), s.set_value(j, values[1])))
        return True

    def _on_point_moved(self, event=None):
        layer = own_layer(self.viewer, POINTS, OWNER)
        if self._syncing or layer is None:
            return
        if getattr(event, "action", "changed") not in ("changed", None):
            return  # napari also reports while dragging ("changing"): move once, when it lands
        data = np.asarray(layer.data)
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
