"""Dock widget "Missing views": generate an unseen plane from the observed slices.

Pick a view generator (the mental map, plain or GAN; or a file), the observed slices
(Image layers that carry their pose: the sample's planes, extracted or generated
planes) and the query plane (a standard plane through the head, or a plane of the
Plane picker), then Generate: a worker runs :func:`~napari_genmed.core.tasks.viewgen.generate`
and, when the true head is in the viewer, renders the true plane without speckle.
The result: the generated slice in 3D at its pose (an Image layer, replaced on a
re-run), with "samples > 1" its per-pixel standard deviation, and in the panel the
row generated | truth | |difference| with SSIM / NCC / PSNR.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton, Select, SpinBox
from napari.utils.notifications import show_error
from qtpy.QtGui import QImage, QPixmap

from ..core.progress import Progress
from ..core.sim.geometry import VIEW_NAMES, Pose, standard_pose
from ..core.sim.ultrasound import View
from ..layer_data import layer_kind, set_layer, view_image, view_layer
from .jobs import JobPanel, layer_list_events, progress_bar, watch
from .model_box import GENERATORS, ModelBox
from .views_box import NONE

STANDARD = " (standard plane)"
PICKER = " (plane picker)"
PREVIEW_PX = 150  #: side of each preview tile


def posed_layers(viewer) -> list[str]:
    """Image layers that are slices with a known pose (not generated ones)."""
    return [
        layer.name
        for layer in viewer.layers
        if layer_kind(layer) == "image"
        and "pose" in (layer.metadata or {})
        and not (layer.metadata or {}).get("genmed_generated")
    ]


def to_pixmap(tiles: list[np.ndarray], size: int = PREVIEW_PX) -> QPixmap:
    """Images in [0, 1] side by side (nearest-neighbour to ``size`` px), 8-bit gray."""
    from scipy import ndimage

    row = []
    for t in tiles:
        t = np.clip(np.nan_to_num(np.asarray(t, np.float32)), 0, 1)
        row.append(ndimage.zoom(t, (size / t.shape[0], size / t.shape[1]), order=0))
        row.append(np.full((size, 4), 0.25, np.float32))
    img = np.ascontiguousarray((np.concatenate(row[:-1], 1) * 255).astype(np.uint8))
    q = QImage(img.data, img.shape[1], img.shape[0], img.shape[1], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(q.copy())


def generation_job(
    model,
    observations,
    query: Pose,
    view: str,
    n_samples: int,
    seed: int,
    truth_labels=None,
    truth_spacing: float = 2.0,
):
    from ..core.metrics.similarity import similarity
    from ..core.sim.ultrasound import simulate_view
    from ..core.tasks.viewgen import generate

    total = 3 if truth_labels is not None else 2
    yield Progress(0, total, "generating")
    generated = generate(model, observations, query, n_samples, seed)
    out = {"generated": generated, "view": view, "truth": None, "scores": None}
    if truth_labels is not None:
        yield Progress(1, total, "rendering the true plane")
        truth = simulate_view(truth_labels, query, truth_spacing, seed=seed, speckle=False).image
        out["truth"], out["scores"] = truth, similarity(generated.image, truth)
    yield Progress(total, total, "done")
    return out


class MissingViewsWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False)
        self.viewer = napari_viewer
        self.worker = None
        self.result: dict | None = None
        self.models = ModelBox(GENERATORS, "Mental map (VAE)")
        self.observed = Select(
            choices=lambda w=None: posed_layers(self.viewer), label="observed slices"
        )
        self.query = ComboBox(choices=self._query_choices, label="query plane")
        self.truth = ComboBox(choices=self._truth_choices, label="true head")
        self.samples = SpinBox(value=1, min=1, max=32, label="samples")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.run_button = PushButton(text="Generate")
        self.cancel = PushButton(text="Cancel", enabled=False)
        self.progress = progress_bar(label="progress")
        self.titles = Label(value="")
        self.preview = Label(value="")
        self.readout = Label(value="")
        settings = Container(
            widgets=[self.observed, self.query, self.truth, self.samples, self.seed, self.progress],
            labels=True,
        )
        buttons = Container(
            widgets=[self.run_button, self.cancel], layout="horizontal", labels=False
        )
        self.extend(
            [
                Label(value="<b>View generator</b>"),
                self.models,
                Label(value="<b>Views</b>"),
                settings,
                buttons,
                self.titles,
                self.preview,
                self.readout,
            ]
        )
        self.observed.native.setMaximumHeight(90)
        self.run_button.changed.connect(self.run)
        self.cancel.changed.connect(self.stop)
        watch(self, layer_list_events(napari_viewer), self._refresh)
        self.stop_on_close()
        self._refresh()

    # -- choices ----------------------------------------------------------------
    def _query_choices(self, widget=None):
        out = [f"{v}{STANDARD}" for v in VIEW_NAMES]
        if self._picker() is not None:
            out += [f"{v}{PICKER}" for v in VIEW_NAMES]
        return out

    def _truth_choices(self, widget=None):
        return [NONE] + [
            layer.name
            for layer in self.viewer.layers
            if layer_kind(layer) == "labels" and "genmed_phantom" in (layer.metadata or {})
        ]

    def _picker(self):
        from .plane_picker import PlanePicker

        for widget in self.viewer.window.dock_widgets.values():
            if isinstance(widget, PlanePicker):
                return getattr(widget, "__wrapped__", widget)
        return None

    def _refresh(self, event=None):
        for combo in (self.query, self.truth):
            current = combo.value
            combo.reset_choices()
            if current in combo.choices:
                combo.value = current
        if self.query.value is None or self.query.value == self.query.choices[0] and event is None:
            self.query.value = f"coronal{STANDARD}"  # the plane clinicians most often lack
        if self.truth.value in (None, NONE) and len(self.truth.choices) > 1:
            self.truth.value = self.truth.choices[1]
        selected = [n for n in (self.observed.value or []) if n in posed_layers(self.viewer)]
        self.observed.reset_choices()
        view = str(self.query.value).split(" ")[0]
        self.observed.value = selected or [
            n for n in self.observed.choices if n in VIEW_NAMES and n != view
        ]

    # -- inputs -----------------------------------------------------------------
    def observations(self) -> list[tuple[np.ndarray, Pose]]:
        out = []
        for name in self.observed.value or []:
            layer = self.viewer.layers[name]
            out.append((view_image(layer), Pose.from_dict(layer.metadata["pose"])))
        return out

    def _truth_layer(self):
        name = self.truth.value
        return (
            self.viewer.layers[name]
            if name not in (None, NONE) and name in self.viewer.layers
            else None
        )

    def query_pose(self, observations) -> tuple[str, Pose]:
        view, _, source = str(self.query.value).partition(" ")
        if source == PICKER.strip():
            pose = self._picker().pose(view) if self._picker() is not None else None
            if pose is None:
                raise ValueError("the Plane picker has no volume to place planes in")
            return view, pose
        truth = self._truth_layer()
        if truth is not None:
            from ..core.sim.geometry import standard_centre
            from ..core.sim.labels import as_labels, head_mask

            centre = standard_centre(
                head_mask(as_labels(np.asarray(truth.data))), float(truth.scale[0])
            )
        elif observations:
            centre = np.mean([p.origin for _, p in observations], axis=0)
        else:
            raise ValueError(
                "pick observed slices or a true head: the query plane needs the head's centre"
            )
        return view, standard_pose(view, centre)

    # -- the job ----------------------------------------------------------------
    def run(self):
        if self.worker is not None:
            return None
        model = self.models.model
        if model is None:
            show_error("Load a view generator first.")
            return None
        try:
            obs = self.observations()
            view, query = self.query_pose(obs)
            truth = self._truth_layer()
            labels = np.asarray(truth.data) if truth is not None else None
            job = generation_job(
                model,
                obs,
                query,
                view,
                int(self.samples.value),
                int(self.seed.value),
                labels,
                float(truth.scale[0]) if truth is not None else 2.0,
            )
            from ..core.tasks.viewgen import prepare_observations

            prepare_observations(obs)  # bad slices fail here, before a worker starts
        except (ValueError, KeyError) as exc:
            show_error(f"Cannot generate: {exc}")
            return None
        return self.launch(job, "Generating a view", self._on_result)

    def start_buttons(self):
        return [self.run_button, self.models.load]

    def _on_result(self, result: dict):
        if self.worker is not None and self.worker.abort_requested:
            return
        g = result["generated"]
        name = f"generated {result['view']}"
        data, kwargs, kind = view_layer(
            View(name, g.image, g.pose, int(self.seed.value), speckle=False), name
        )
        kwargs["metadata"] = dict(kwargs["metadata"], genmed_generated=g.method)
        set_layer(self.viewer, data, kwargs, kind)
        std_name = f"{name} std"
        if g.std is not None:
            data, kwargs, kind = view_layer(
                View(std_name, g.std / max(float(g.std.max()), 1e-6), g.pose, 0, False), std_name
            )
            kwargs.update(
                colormap="viridis",
                visible=False,
                metadata=dict(kwargs["metadata"], genmed_generated=g.method),
            )  # shown in the panel; in 3D on request
            set_layer(self.viewer, data, kwargs, kind)
        elif std_name in self.viewer.layers:
            self.viewer.layers.remove(std_name)
        tiles, titles = [g.image], ["generated"]
        if result["truth"] is not None:
            tiles += [result["truth"], np.abs(g.image - result["truth"])]
            titles += ["truth (no speckle)", "|difference|"]
        if g.std is not None:
            tiles.append(g.std / max(float(g.std.max()), 1e-6))
            titles.append("std over samples")
        self.preview.native.setPixmap(to_pixmap(tiles))
        self.titles.value = "  |  ".join(titles)
        s = result["scores"]
        self.readout.value = (
            "no true head: no scores"
            if s is None
            else f"vs truth: SSIM {s['ssim']:.3f}  NCC {s['ncc']:.3f}  PSNR {s['psnr']:.1f} dB"
        )
        self.result = result
