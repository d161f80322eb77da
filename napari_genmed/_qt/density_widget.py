"""Dock widget "Flow density": where does a view look unlike ultrasound?

Pick the patch flow (bundled or a file) and a 2D layer (a generated missing view, an
opened frame, the sample's planes), Compute: a worker runs the core's
:func:`~napari_genmed.core.tasks.density.density_job` and the per-pixel negative
log-likelihood corrected for the patches' complexity (bits per dimension; a blank or
smoothed region stands out, where the bare likelihood finds it typical) appears over
the view, at the view's own place
(in 3D at its pose), with a diverging colormap centred on how clean held-out views
score (the flow card's measurement), and a legend. "Teaching example" shows the seed
material's 2D flow x = (u1, u2 - u1^2 - 1). The target "latent plane" asks the
Latent explorer (docked if it is not) for its latent density map, through the
viewer's state, and shows its summary here.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtGui import QImage, QPixmap

from ..core.sim.geometry import Pose
from ..core.sim.ultrasound import View
from ..core.tasks.density import DensityMap, clean_reference, density_job
from ..layer_data import toy_flow_layers, view_layer
from ..state import state_of
from .docks import docked, fit_dock
from .jobs import CANCEL_TIP, JobPanel, layer_list_events, progress_bar, watch
from .latent_map import MapPlace
from .layers import (
    NONE,
    add_layers,
    is_view_layer,
    layer_image,
    layer_spacing,
    set_layer,
    shown_frame,
)
from .model_box import PATCH_FLOWS, ModelBox

OWNER = "flow density"  #: the maker of the density maps and the teaching example
DENSITY_COLORMAP = "bwr"
LATENT_PLANE = "latent plane (Latent explorer)"


def legend_pixmap(width: int = 220, height: int = 14) -> QPixmap:
    """A blue-white-red bar (the diverging colormap)."""
    t = np.linspace(0, 1, width)
    rgb = np.stack([np.clip(2 * t, 0, 1), 1 - np.abs(2 * t - 1), np.clip(2 - 2 * t, 0, 1)], -1)
    img = np.ascontiguousarray((np.repeat(rgb[None], height, 0) * 255).astype(np.uint8))
    q = QImage(img.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy())


def colour_limits(flow, score: np.ndarray) -> tuple[tuple[float, float], str]:
    """The colour scale and its legend: white at the 95th percentile of clean
    held-out views in the fan (from the flow's card), spanning four times their spread
    above the median either way (clean anatomy reads white to blue, only the unusual
    red); without that measurement the map's own range, and the legend says so."""
    ref = clean_reference(flow)
    if ref is None:
        lo, hi = float(np.min(score)), float(np.max(score))
        return (
            (lo, hi),
            f"this flow's card has no clean-view reference: the map's own range {lo:.1f}-{hi:.1f} "
            "bits/dim",
        )
    half = max(4.0 * (ref["p95"] - ref["median"]), 0.5)
    lo, hi = ref["p95"] - half, ref["p95"] + half
    return (lo, hi), (
        f"white: the 95th percentile of clean held-out views ({ref['p95']:.1f} bits/dim, "
        "complexity-corrected); "
        f"blue: likely ({lo:.1f}), red: unlikely ({hi:.1f})"
    )


class DensityWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False, scrollable=True)
        self.viewer = napari_viewer
        self.state = state_of(napari_viewer)
        self.worker = None
        self.result: DensityMap | None = None
        self.models = ModelBox(PATCH_FLOWS, "Patch flow (views)")
        self.target = ComboBox(
            choices=self._targets, label="view", tooltip="the 2D view layer to score"
        )
        self.run_button = PushButton(
            text="Compute map", tooltip="score every pixel under the patch flow"
        )
        self.cancel = PushButton(text="Cancel", enabled=False, tooltip=CANCEL_TIP)
        self.progress = progress_bar(label="progress")
        self.legend = Label(value="")
        self.legend_text = Label(value="")
        self.legend_text.native.setWordWrap(True)
        self.readout = Label(value="")
        self.readout.native.setWordWrap(True)
        self.toy_button = PushButton(
            text="2D teaching example",
            tooltip="the banana density a small RealNVP flow learnt, beside the true one (2D)",
        )
        settings = Container(widgets=[self.target, self.progress], labels=True)
        buttons = Container(
            widgets=[self.run_button, self.cancel], layout="horizontal", labels=False
        )
        self.extend(
            [
                Label(value="<b>Patch flow</b>"),
                self.models,
                settings,
                buttons,
                self.legend,
                self.legend_text,
                self.readout,
                self.toy_button,
            ]
        )
        self.legend.native.setPixmap(legend_pixmap())
        self.run_button.changed.connect(self.run)
        self.cancel.changed.connect(self.stop)
        self.toy_button.changed.connect(self.show_toy)
        watch(self, layer_list_events(napari_viewer), self._refresh)
        watch(self, [self.state.latent_map_changed], self._on_latent_map)
        self._refresh()  # layers already open: pick a view now
        self.stop_on_close()
        fit_dock(self)  # one tabbed column that fits the screen

    def _targets(self, widget=None):
        views = [
            layer.name
            for layer in self.viewer.layers
            if is_view_layer(layer) and not layer.name.endswith(" density")
        ]
        return [NONE] + views + [LATENT_PLANE]

    def _refresh(self, event=None):
        """New choices; keep the user's pick, else default to a view layer (a
        generated one first, so a view just generated is the one to check)."""
        current = self.target.value
        self.target.reset_choices()
        chosen_by_user = current not in (NONE, None, getattr(self, "_auto_target", None))
        if chosen_by_user and current in self.target.choices:
            self.target.value = current
            return
        views = [c for c in self.target.choices if c not in (NONE, LATENT_PLANE)]
        generated = [c for c in views if str(c).startswith("generated ")]
        if views:
            self.target.value = self._auto_target = (generated or views)[0]

    def start_buttons(self):
        return [self.run_button, self.models.load]

    def run(self):
        if self.worker is not None:
            return None
        if self.target.value == LATENT_PLANE:
            return self.show_latent_plane()
        flow = self.models.model
        if flow is None:
            show_error("Load a patch flow first.")
            return None
        name = self.target.value
        if name in (None, NONE) or name not in self.viewer.layers:
            show_error("Pick a 2D view layer.")
            return None
        layer = self.viewer.layers[name]
        image = layer_image(layer, shown_frame(self.viewer, layer))  # a cine: the frame shown
        job = density_job(flow, np.asarray(image), layer_spacing(layer))
        try:
            next(job)  # checks the image before a worker starts
        except ValueError as exc:
            show_error(f"Cannot compute a density map: {exc}")
            return None
        self._source = name
        return self.launch(job, "Density map", self._on_result)

    def _on_result(self, result: DensityMap):
        cancelled = self.worker is not None and self.worker.abort_requested
        if cancelled or self._source not in self.viewer.layers:
            return
        source = self.viewer.layers[self._source]
        name = f"{self._source} density"
        limits, legend = colour_limits(self.models.model, result.score)
        meta = source.metadata or {}
        if "pose" in meta and "view_axes" in meta:
            view = View(name, result.score, Pose.from_dict(meta["pose"]), 0, False)
            data, kwargs, kind = view_layer(view, name)
        else:
            kwargs = {
                "name": name,
                "scale": tuple(source.scale)[-2:],
                "translate": tuple(source.translate)[-2:],
            }
            data, kind = result.score, "image"
        kwargs.update(
            colormap=DENSITY_COLORMAP,
            contrast_limits=limits,
            opacity=0.6,
            blending="translucent",
            metadata=dict(kwargs.get("metadata", {}), genmed_density=self._source),
        )
        set_layer(self.viewer, data, kwargs, kind, OWNER)
        self.result = result
        self.legend_text.value = legend
        self.readout.value = (
            f"{self._source}: median {result.median:.2f}, "
            f"99th percentile {result.p99:.2f} bits/dim (corrected) in the fan"
        )

    def show_latent_plane(self):
        """Ask the Latent explorer (docked if needed) for its latent density map."""
        docked(self.viewer, "Latent explorer")
        if self.state.latent is None:
            show_error(
                "Latent plane: load a reconstruction model (Skull reconstruction panel) "
                "and wait for the Latent explorer's sliders."
            )
            return None
        self.state.request_latent_map()
        return self.state.latent_map

    def _on_latent_map(self, summary):
        if summary is not None and self.target.value == LATENT_PLANE:
            self.readout.value = summary.describe()

    def show_toy(self):
        """The teaching example as three image layers side by side (2D)."""
        from ..core.flows.toyflow import density_images
        from ..core.io.checkpoint import load_model

        try:
            flow = load_model("toy-flow", "cpu")
        except ValueError as exc:
            show_error(f"Cannot load the toy flow: {exc}")
            return None
        images = density_images(flow)
        # beside everything else (not over the head), the earlier example's layers aside
        toy = [layer.name for layer in self.viewer.layers if "genmed_toy" in layer.metadata]
        place = MapPlace.beside(self.viewer, skip=toy)
        add_layers(self.viewer, toy_flow_layers(images, place.top_left), OWNER)
        self.viewer.dims.ndisplay = 2
        self.viewer.reset_view()
        return images
