"""Dock widget "Flow density": where does a view look unlike ultrasound?

Pick the patch flow (bundled or a file) and a 2D layer (a generated missing view, an
opened frame, the sample's planes), Compute: a worker runs
:func:`~napari_genmed.core.tasks.density.density_map` and the per-pixel negative
log-likelihood (bits per dimension) appears over the view, at the view's own place
(in 3D at its pose), with a diverging colormap centred near the top of what clean
simulated views score, and a legend. "Teaching example" shows the seed material's 2D flow
x = (u1, u2 - u1^2 - 1): the base density, the true density and the learnt one.
The target "latent plane" shows the latent flow's density over two latent
dimensions of the Latent explorer's model instead (docked if it is not), as layers
beside the skull (:mod:`.latent_density`).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtGui import QImage, QPixmap

from ..core.progress import Progress
from ..core.sim.geometry import Pose
from ..core.sim.ultrasound import View
from ..layer_data import set_layer, view_layer
from .jobs import JobPanel, layer_list_events, progress_bar, watch
from .model_box import PATCH_FLOWS, ModelBox
from .views_box import NONE, is_view_layer, layer_image, layer_spacing

TYPICAL_BPD = 5.5  #: colormap centre (white): about the 95th percentile of the map in the fan of clean held-out views (median 5.0), so clean anatomy reads white to blue and only the unusual red
HALF_RANGE = 2.0  #: colormap spans centre +- this many bits/dim
DENSITY_COLORMAP = "bwr"
LATENT_PLANE = "latent plane (Latent explorer)"


def legend_pixmap(width: int = 220, height: int = 14) -> QPixmap:
    """A blue-white-red bar (the diverging colormap)."""
    t = np.linspace(0, 1, width)
    rgb = np.stack([np.clip(2 * t, 0, 1), 1 - np.abs(2 * t - 1), np.clip(2 - 2 * t, 0, 1)], -1)
    img = np.ascontiguousarray((np.repeat(rgb[None], height, 0) * 255).astype(np.uint8))
    q = QImage(img.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy())


def density_job(flow, image: np.ndarray, spacing_mm: float):
    from ..core.tasks.density import density_map

    yield Progress(0, 1, "scoring patches")
    out = density_map(image, flow, spacing_mm)
    yield Progress(1, 1, "done")
    return out


class DensityWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False)
        self.viewer = napari_viewer
        self.worker = None
        self.result = None
        self.models = ModelBox(PATCH_FLOWS, "Patch flow (views)")
        self.target = ComboBox(choices=self._targets, label="view")
        self.run_button = PushButton(text="Compute density map")
        self.cancel = PushButton(text="Cancel", enabled=False)
        self.progress = progress_bar(label="progress")
        self.legend = Label(value="")
        self.legend_text = Label(
            value=f"blue: likely ({TYPICAL_BPD - HALF_RANGE:g} bits/dim)   red: unlikely ({TYPICAL_BPD + HALF_RANGE:g} bits/dim)"
        )
        self.readout = Label(value="")
        self.toy_button = PushButton(text="Teaching example: the 2D banana flow")
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
        self._refresh()  # layers already open: pick a view now
        self.stop_on_close()

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
        try:
            from ..core.tasks.density import check_image
            from ..core.tasks.viewprep import to_gray

            image = to_gray(name, np.asarray(layer_image(layer)))
            check_image(image)
        except ValueError as exc:
            show_error(f"Cannot compute a density map: {exc}")
            return None
        job = density_job(flow, image, layer_spacing(layer))
        self._source = name
        return self.launch(job, "Density map", self._on_result)

    def _on_result(self, score: np.ndarray):
        if (
            self.worker is not None
            and self.worker.abort_requested
            or self._source not in self.viewer.layers
        ):
            return
        source = self.viewer.layers[self._source]
        name = f"{self._source} density"
        limits = (TYPICAL_BPD - HALF_RANGE, TYPICAL_BPD + HALF_RANGE)
        meta = source.metadata or {}
        if "pose" in meta and "view_axes" in meta:
            data, kwargs, kind = view_layer(
                View(name, score, Pose.from_dict(meta["pose"]), 0, False), name
            )
        else:
            data, kwargs, kind = (
                score,
                {
                    "name": name,
                    "scale": tuple(source.scale)[-2:],
                    "translate": tuple(source.translate)[-2:],
                },
                "image",
            )
        kwargs.update(
            colormap=DENSITY_COLORMAP,
            contrast_limits=limits,
            opacity=0.6,
            blending="translucent",
            metadata=dict(kwargs.get("metadata", {}), genmed_density=self._source),
        )
        set_layer(self.viewer, data, kwargs, kind)
        self.result = score
        inside = (
            score[np.asarray(layer_image(source)) > 0.05]
            if score.shape == np.shape(layer_image(source))
            else score
        )
        self.readout.value = f"{self._source}: median {np.median(inside):.2f}, 99th percentile {np.percentile(inside, 99):.2f} bits/dim"

    def show_latent_plane(self):
        """The latent flow's density map, through the Latent explorer (docked if needed)."""
        from .docks import docked
        from .latent_widget import LatentWidget

        explorer = docked(self.viewer, LatentWidget, "Latent explorer")
        if explorer.state is None:
            show_error(
                "Latent plane: load a reconstruction model (Skull reconstruction panel) and wait for the Latent explorer's sliders."
            )
            return None
        logp = explorer.density.compute()
        if logp is not None:
            self.readout.value = explorer.density.caption.value
        return logp

    def show_toy(self):
        """The teaching example as three image layers side by side (2D)."""
        from .. import api
        from ..core.flows.toyflow import density_images

        try:
            flow = api.load_model("toy-flow", "cpu")
        except ValueError as exc:
            show_error(f"Cannot load the toy flow: {exc}")
            return None
        images = density_images(flow)
        for k, (key, title) in enumerate(
            (("base", "base N(0, I)"), ("true", "true banana"), ("learnt", "learnt by RealNVP"))
        ):
            set_layer(
                self.viewer,
                images[key],
                {
                    "name": f"toy flow: {title}",
                    "translate": (0.0, 140.0 * k),
                    "colormap": "magma",
                    "metadata": {"genmed_toy": key},
                },
                "image",
            )
        self.viewer.dims.ndisplay = 2
        self.viewer.reset_view()
        return images
