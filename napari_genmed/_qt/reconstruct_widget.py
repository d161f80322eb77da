"""Dock widget "Skull reconstruction": model, views, reconstruct, readouts, export.

The clinician's workflow: load a model (bundled or a file), assign the planes (Image
layers) to axial / sagittal / coronal, press Reconstruct. The job
(:func:`~napari_genmed.core.tasks.reconstruct.reconstruction_job`) runs in a napari
worker with a progress bar and Cancel; its result replaces the earlier result
layers: the skull probability, the skull at an adjustable threshold (Labels), its
surface, and with samples > 1 the uncertainty. They share the millimetre space of
the input slices, which stay in 3D at their poses; a view without a pose (an acquired
frame) is shown as ``<slot> (placed)`` through the reconstructed skull at the pose the
plane pose net finds for it (:mod:`~napari_genmed.core.tasks.pose`), the user's own
layer untouched. Readouts: biometry and, when the
user picks a ground-truth layer, Dice / SEN / PPV. Export: NIfTI and STL / OBJ / PLY.

The model, the views, the truth, the threshold and the result live in the viewer's
state (:mod:`napari_genmed.state`), which the other panels read; this panel writes
them and follows the result on screen (a latent the explorer decoded, too).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSlider,
    Label,
    PushButton,
    SpinBox,
)
from napari.utils.notifications import show_error, show_info

from ..core.sim.geometry import VIEW_NAMES
from ..core.tasks.pose import placing_job
from ..core.tasks.reconstruct import Reconstruction, reconstruction_job
from ..state import state_of
from .docks import fit_dock
from .export_box import ExportBox
from .jobs import CANCEL_TIP, JobPanel, layer_list_events, progress_bar, watch
from .layers import NONE, layer_kind, made_by, remove_own, set_layer, truth_mask
from .model_box import ModelBox
from .model_card import SAMPLES_BASE, samples_tip
from .results import OWNER as RESULTS_OWNER
from .results import readout_text, show_reconstruction
from .views_box import ViewsBox, bundled


class ReconstructWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False, scrollable=True)
        self.viewer = napari_viewer
        self.state = state = state_of(napari_viewer)
        self.worker = None
        self._placed: dict = {}  #: the views placed with the result on screen (readout)
        self.models = ModelBox()
        self.views = ViewsBox(napari_viewer, state)
        self.truth = ComboBox(
            choices=self._truth_choices,
            value=NONE,
            label="ground truth",
            tooltip="a labels layer of the same head to score the result against (Dice, SEN, PPV)",
        )
        self.samples = SpinBox(value=1, min=1, max=64, label="samples", tooltip=SAMPLES_BASE)
        self.seed = SpinBox(
            value=0, min=0, max=2**31 - 1, label="seed", tooltip="seed of the variants"
        )
        self.threshold = FloatSlider(
            value=state.threshold,
            min=0.05,
            max=0.95,
            step=0.05,
            label="threshold",
            tooltip="skull probability above which a voxel is skull (re-cuts the result at once)",
        )
        self.override = CheckBox(
            value=False,
            text="biometry anyway",
            tooltip="show BPD, OFD, HC and GA although the plane gate finds a view that is not "
            "a fetal head plane (the readout says so)",
        )
        self.run_button = PushButton(
            text="Reconstruct", tooltip="reconstruct the skull from the assigned views"
        )
        self.cancel = PushButton(text="Cancel", enabled=False, tooltip=CANCEL_TIP)
        self.progress = progress_bar(label="progress")
        self.readout = Label(value="")
        self.readout.native.setWordWrap(True)
        self.export = ExportBox(state, napari_viewer)
        settings = Container(
            widgets=[
                self.truth,
                self.samples,
                self.seed,
                self.threshold,
                self.progress,
            ],
            labels=True,
        )
        buttons = Container(
            widgets=[self.run_button, self.cancel], layout="horizontal", labels=False
        )
        self.extend(
            [
                Label(value="<b>Model</b>"),
                self.models,
                Label(value="<b>Views</b>"),
                self.views,
                Label(value="<b>Reconstruction</b>"),
                settings,
                self.override,
                buttons,
                self.readout,
                Label(value="<b>Export</b>"),
                self.export,
            ]
        )
        self.run_button.changed.connect(self.run)
        self.models.loaded.connect(self._on_model)
        self.cancel.changed.connect(self.stop)
        self.threshold.changed.connect(self._on_threshold)
        self.truth.changed.connect(lambda v: state.set_truth(None if v in (None, NONE) else v))
        watch(self, layer_list_events(napari_viewer), self._refresh_truth)
        watch(self, [state.result_changed], self._on_shown)
        watch(self, [state.truth_changed], self._show_truth)
        self.stop_on_close()
        self.wait_for_model(self.run_button)
        fit_dock(self)  # one tabbed column that fits the screen

    @property
    def result(self) -> Reconstruction | None:
        """The reconstruction on screen (the viewer state's)."""
        return self.state.result

    def _on_model(self, model):
        """A deterministic model (TL-net) draws no variants: samples and seed are off,
        and say why, rather than asking for variants that never come."""
        can = bool(getattr(model, "can_sample", True))
        self.samples.enabled = self.seed.enabled = can
        if not can:
            self.samples.value = 1
        self.samples.tooltip = samples_tip(model)
        self.seed.tooltip = "seed of the variants" if can else samples_tip(model)
        self.state.set_model(model)

    # -- ground truth ---------------------------------------------------------
    def _truth_choices(self, widget=None):
        return [NONE] + [
            layer.name
            for layer in self.viewer.layers
            if layer_kind(layer) == "labels" and made_by(layer) != RESULTS_OWNER
        ]

    def _refresh_truth(self, event=None):
        """New choices; the truth stays the user's pick (none unless picked)."""
        if self.state.truth is not None and self.state.truth not in self.viewer.layers:
            self.state.forget_layer(self.state.truth)
        self.truth.reset_choices()
        self._show_truth()

    def _show_truth(self, *_):
        held = self.state.truth
        with self.truth.changed.blocked():
            self.truth.value = held if held in self.truth.choices else NONE

    def truth_mask(self, grid_shape):
        mask = truth_mask(self.viewer, self.state.truth, grid_shape)
        if mask is None and self.state.truth is not None:
            show_info(
                f"ground truth {self.state.truth!r} is not on the model's grid "
                f"{tuple(grid_shape)}: no Dice"
            )
        return mask

    # -- the job --------------------------------------------------------------
    def run(self):
        from ..core.tasks.plausibility import gate_for

        if self.worker is not None:
            return None
        model = self.models.model
        if model is None:
            show_error("Load a model first.")
            return None
        try:
            views = self.views.views()
            truth = self.truth_mask((model.config.grid,) * 3)
            job = reconstruction_job(
                model,
                views,
                int(self.samples.value),
                int(self.seed.value),
                self.state.threshold,
                truth,
                with_surface=True,
                gate=gate_for(model),
                allow_implausible=bool(self.override.value),
            )
            next(job)  # validates the views before a worker starts
        except ValueError as exc:
            show_error(f"Cannot reconstruct: {exc}")
            return None
        self._job_views = views
        unposed = [s for s, name in self.state.assigned().items() if not _posed(self.viewer, name)]
        job = placing_job(job, bundled("plane-pose") if unposed else None, views, unposed)
        return self.launch(job, "Reconstruction", self._on_result)

    def start_buttons(self):
        return [self.run_button, self.models.load]

    def _busy(self, busy: bool):
        self.models.locked = busy
        super()._busy(busy)
        if not busy and self.models.worker is not None:
            self.models.load.enabled = False  # a model is still loading

    def _on_result(self, output):
        if self.worker is not None and self.worker.abort_requested:
            return  # cancelled: a late result is dropped
        result, placed, note = output
        if abs(result.threshold - self.state.threshold) > 1e-9:  # the slider moved meanwhile
            result = result.recut(self.state.threshold, self.truth_mask(result.probability.shape))
        self._placed = placed  # the readout, which follows the state, names them
        if show_reconstruction(self.viewer, result):
            self.state.set_reconstruction(result, self._job_views)
            self._place(placed, note)

    def _place(self, placed: dict, note: str):
        """The placed copies of the views without a pose (the user's layers as they are)."""
        from ..core.sim.ultrasound import View
        from ..layer_data import view_layer

        for slot in VIEW_NAMES:
            name = f"{slot} (placed)"
            if slot not in placed:
                remove_own(self.viewer, name, RESULTS_OWNER)
                continue
            image, mm = self._job_views[slot]
            pose = placed[slot].for_image(np.shape(image), mm)
            layer = view_layer(View(slot, np.asarray(image, np.float32), pose), name)
            set_layer(self.viewer, *layer, RESULTS_OWNER)
        if note:
            show_info(f"Views not placed: {note}")

    def _on_shown(self, result, partial: bool):
        if not partial:
            self.readout.value = readout_text(result, self.state.truth) + placed_text(self._placed)

    def _on_threshold(self, value):
        """A new threshold re-cuts the result on screen (labels, surface, readouts)."""
        self.state.set_threshold(float(value))
        result = self.state.result
        if result is None or self.worker is not None:
            return  # a running job is re-cut when it delivers
        recut = result.recut(self.state.threshold, self.truth_mask(result.probability.shape))
        if show_reconstruction(self.viewer, recut):
            self.state.show(recut)


def _posed(viewer, name) -> bool:
    """Whether layer ``name`` is a view placed at a known pose (the sample's, say)."""
    return name in viewer.layers and "pose" in (viewer.layers[name].metadata or {})


def placed_text(placed: dict) -> str:
    """The readout's line on the views placed at the pose net's poses."""
    if not placed:
        return ""
    from ..core.nets.plane_pose import pose_error

    parts = []
    for slot, p in placed.items():
        mm, deg = pose_error(p.pose, p.nominal)
        parts.append(f"{slot} {mm:.1f} mm, {deg:.1f} deg")
    return "<br>placed off the standard planes: " + "; ".join(parts)
