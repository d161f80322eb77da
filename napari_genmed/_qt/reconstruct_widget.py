"""Dock widget "Skull reconstruction": model, views, reconstruct, readouts, export.

The clinician's workflow: load a model (bundled or a file), assign the planes
(Image layers) to axial / sagittal / coronal, press Reconstruct. The job
(:func:`~napari_genmed.core.tasks.reconstruct.reconstruction_job`) runs in a napari worker
with a progress bar and Cancel; its result replaces the earlier result layers: the
skull probability, the skull at an adjustable threshold (Labels), its surface, and
with samples > 1 the uncertainty. They share the millimetre space of the input
slices, which stay in 3D at their poses. Readouts: biometry and, when a phantom's
true skull is in the viewer, Dice / SEN / PPV. Export: NIfTI and STL / OBJ / PLY.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FileEdit, FloatSlider, Label, PushButton, SpinBox
from napari.utils.notifications import show_error, show_info
from psygnal import Signal

from ..core.tasks.reconstruct import Reconstruction, reconstruction_job
from ..layer_data import RECONSTRUCTION_COLORMAP, layer_kind, set_layer
from .jobs import JobPanel, layer_list_events, progress_bar, watch
from .model_box import ModelBox
from .views_box import NONE, ViewsBox

PROBABILITY, MASK, SURFACE, UNCERTAINTY = (
    "skull probability",
    "reconstructed skull",
    "reconstructed surface",
    "skull uncertainty",
)
RESULT_LAYERS = (PROBABILITY, MASK, SURFACE, UNCERTAINTY)
#: what the variants' spread means, measured with `genmed ceiling --models` (README)
SAMPLES_TIP = (
    "1: the point estimate. More: variants drawn from the model's latent prior; their mean is shown and their "
    "voxel-wise std becomes the 'skull uncertainty' layer. That layer shows where the variants differ, not how "
    "much the skull is undetermined: the bundled CVAEs' variants spread a twelfth (REC-CVAE) to a quarter (HiREC-CVAE) as widely as their real errors."
)


def format_readout(measurements: dict) -> str:
    m = measurements
    parts = []
    if "bpd_mm" in m:
        parts.append(f"BPD {m['bpd_mm']:.1f}  OFD {m['ofd_mm']:.1f}  HC {m['hc_mm']:.1f} mm")
        parts.append(
            f"GA {m['ga_hadlock_weeks']:.1f} w (Hadlock), {m['ga_intergrowth_weeks']:.1f} w (INTERGROWTH)"
        )
    else:
        parts.append("no closed skull in the axial plane: no biometry")
    if "dice" in m:
        parts.append(f"vs truth: Dice {m['dice']:.3f}  SEN {m['sen']:.3f}  PPV {m['ppv']:.3f}")
    return "\n".join(parts)


class ReconstructWidget(JobPanel, Container):
    #: a new reconstruction from views: ``(result, views)``, the views as given to the job
    reconstructed = Signal(object, object)

    def __init__(self, napari_viewer):
        super().__init__(labels=False)
        self.viewer = napari_viewer
        self.worker = None
        self.result: Reconstruction | None = None
        self.last_views: dict | None = None  #: the views of the running or last reconstruction
        self.models = ModelBox()
        self.views = ViewsBox(napari_viewer)
        self.truth = ComboBox(choices=self._truth_choices, label="ground truth")
        self.samples = SpinBox(value=1, min=1, max=64, label="samples", tooltip=SAMPLES_TIP)
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.threshold = FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, label="threshold")
        self.run_button = PushButton(text="Reconstruct")
        self.cancel = PushButton(text="Cancel", enabled=False)
        self.progress = progress_bar(label="progress")
        self.readout = Label(value="", label="readouts")
        self.nifti_path = FileEdit(
            mode="w", filter="*.nii.gz", value="skull_reconstruction.nii.gz", label="NIfTI"
        )
        self.save_nifti = PushButton(text="Export volume")
        self.mesh_path = FileEdit(
            mode="w", filter="*.stl *.obj *.ply", value="skull_surface.stl", label="surface"
        )
        self.save_mesh = PushButton(text="Export surface")
        settings = Container(
            widgets=[
                self.truth,
                self.samples,
                self.seed,
                self.threshold,
                self.progress,
                self.readout,
            ],
            labels=True,
        )
        export = Container(
            widgets=[self.nifti_path, self.save_nifti, self.mesh_path, self.save_mesh], labels=True
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
                buttons,
                Label(value="<b>Export</b>"),
                export,
            ]
        )
        self.run_button.changed.connect(self.run)
        self.models.loaded.connect(self._on_model)
        self.cancel.changed.connect(self.stop)
        self.threshold.changed.connect(self._on_threshold)
        self.save_nifti.changed.connect(self.export_volume)
        self.save_mesh.changed.connect(self.export_surface)
        watch(self, layer_list_events(napari_viewer), self._refresh_truth)
        self.stop_on_close()
        self._refresh_truth()

    def _on_model(self, model):
        """A deterministic model (TL-net) draws no variants: samples and seed are off,
        and say why, rather than asking for variants that never come."""
        can = bool(getattr(model, "can_sample", True))
        self.samples.enabled = self.seed.enabled = can
        if not can:
            self.samples.value = 1
        why = f"{getattr(model, 'kind', 'this model')} is deterministic: one reconstruction, no variants, no uncertainty layer"
        self.samples.tooltip = SAMPLES_TIP if can else why
        self.seed.tooltip = "" if can else why

    # -- ground truth ---------------------------------------------------------
    def _truth_choices(self, widget=None):
        return [NONE] + [
            layer.name
            for layer in self.viewer.layers
            if layer_kind(layer) == "labels" and layer.name not in RESULT_LAYERS
        ]

    def _refresh_truth(self, event=None):
        current = self.truth.value
        self.truth.reset_choices()
        if current in self.truth.choices and current != NONE:
            self.truth.value = current
        elif "skull" in self.truth.choices:
            self.truth.value = "skull"

    def truth_mask(self, grid_shape):
        name = self.truth.value
        if name in (None, NONE) or name not in self.viewer.layers:
            return None
        data = np.asarray(self.viewer.layers[name].data)
        if data.shape != tuple(grid_shape):
            show_info(
                f"ground truth {name!r} is {data.shape}, the model grid {tuple(grid_shape)}: no Dice"
            )
            return None
        return data == 1

    # -- the job --------------------------------------------------------------
    def run(self):
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
                float(self.threshold.value),
                truth,
                with_surface=True,
            )
            next(job)  # validates the views before a worker starts
        except ValueError as exc:
            show_error(f"Cannot reconstruct: {exc}")
            return None
        self._job_views = views
        return self.launch(job, "Reconstruction", self._on_result)

    def start_buttons(self):
        return [self.run_button, self.models.load]

    def _busy(self, busy: bool):
        self.models.locked = busy
        super()._busy(busy)
        if not busy and self.models.worker is not None:
            self.models.load.enabled = False  # a model is still loading

    def _on_result(self, result: Reconstruction):
        if self.worker is not None and self.worker.abort_requested:
            return  # cancelled: a late result is dropped
        if abs(result.threshold - float(self.threshold.value)) > 1e-9:  # the slider moved meanwhile
            result = result.recut(
                float(self.threshold.value), self.truth_mask(result.probability.shape)
            )
        self.show_result(result)
        if self.result is result:
            self.last_views = self._job_views
            self.reconstructed.emit(result, self._job_views)

    # -- layers ---------------------------------------------------------------
    def show_result(self, r: Reconstruction, partial: bool = False):
        """Replace the result layers with ``r`` (all of them, or none on failure);
        ``partial`` leaves the surface layer and the readouts as they are (the latent
        explorer skips them for moves that a newer one supersedes)."""
        scale = (r.spacing_mm,) * 3
        meta = {
            "genmed_reconstruction": {
                "model": r.model_kind,
                "views": r.views_used,
                "threshold": r.threshold,
            }
        }
        updates = [
            (
                PROBABILITY,
                r.probability,
                {
                    "scale": scale,
                    "colormap": "inferno",
                    "contrast_limits": (0.0, 1.0),
                    "rendering": "attenuated_mip",
                    "visible": False,
                },
                "image",
            ),
            (
                MASK,
                r.mask().astype(np.uint8),
                {"scale": scale, "opacity": 0.6, "visible": False},
                "labels",
            ),
        ]
        if r.surface is not None:
            verts, faces = r.surface
            updates.append(
                (
                    SURFACE,
                    (verts, faces, np.ones(len(verts), np.float32)),
                    {"colormap": RECONSTRUCTION_COLORMAP, "opacity": 0.8, "shading": "smooth"},
                    "surface",
                )
            )
        if r.uncertainty is not None:
            hi = float(max(r.uncertainty.max(), 1e-6))
            updates.append(
                (
                    UNCERTAINTY,
                    r.uncertainty,
                    {
                        "scale": scale,
                        "colormap": "viridis",
                        "rendering": "mip",
                        "contrast_limits": (0.0, hi),
                    },
                    "image",
                )
            )
        try:
            for name, data, kwargs, kind in updates:
                set_layer(self.viewer, data, {"name": name, "metadata": meta, **kwargs}, kind)
        except Exception as exc:  # never leave a mix of old and new result layers
            for name in RESULT_LAYERS:
                if name in self.viewer.layers:
                    self.viewer.layers.remove(name)
            self.result = None
            show_error(f"Could not show the reconstruction: {exc}")
            return
        for name in (
            {SURFACE, UNCERTAINTY} - {u[0] for u in updates} - ({SURFACE} if partial else set())
        ):
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        if partial:
            return  # self.result stays the last complete one (threshold re-cuts use it)
        self.result = r
        self.readout.value = format_readout(r.measurements)

    def _on_threshold(self, value):
        """A new threshold re-cuts the existing result (labels, surface, readouts)."""
        if self.result is None or self.worker is not None:
            return  # a running job is re-cut when it delivers
        self.show_result(
            self.result.recut(float(value), self.truth_mask(self.result.probability.shape))
        )

    # -- export ---------------------------------------------------------------
    def export_volume(self):
        from ..core.io.nifti import write_nifti

        if self.result is None:
            show_error("Nothing to export yet: reconstruct first.")
            return None
        try:
            path = write_nifti(
                self.nifti_path.value,
                self.result.probability.astype(np.float32),
                (self.result.spacing_mm,) * 3,
            )
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        show_info(f"saved {path}")
        return path

    def export_surface(self):
        from ..core.io.meshes import write_mesh

        if self.result is None or self.result.surface is None:
            show_error("No surface to export yet: reconstruct first.")
            return None
        try:
            path = write_mesh(self.mesh_path.value, *self.result.surface)
        except (ValueError, OSError) as exc:
            show_error(f"Export failed: {exc}")
            return None
        show_info(f"saved {path}")
        return path
