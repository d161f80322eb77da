"""Dock widget "Missing views": generate an unseen plane from the observed slices.

Pick a view generator (the anatomy drawn by the simulator, the default; the mental
map, plain or GAN; or a file), the observed slices
(Image layers that carry their pose; by default the views assigned in the Skull
reconstruction panel, through the viewer's state) and the query plane (a standard
plane through the head, or a plane of the Plane picker, also through the state),
then Generate: a worker runs the core's
:func:`~napari_genmed.core.tasks.viewgen.generation_job` and, when the user picks the
true head, renders the true plane without speckle. The result: the generated slice
in 3D at its pose (an Image layer, replaced on a re-run), with samples > 1 its
per-pixel standard deviation, and in the panel the row generated | truth |
|difference| with SSIM / NCC / PSNR, the in-head SSIM / NCC and skull-echo Dice, and
the template head's beside them (what the generator adds over a head it never saw).
With *scanner texture* ticked, one B-mode sample around the generated plane (the
speckle a scanner would show: :mod:`~napari_genmed.core.sim.texture`) is added as a
layer of its own above it; the smooth plane stays the estimate. The anatomy generator
also shows the labels it drew: a colour tile, and a Labels layer at the pose (hidden:
each slab in 3D costs a paint).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    PushButton,
    Select,
    SpinBox,
)
from napari.utils.notifications import show_error

from ..core.sim.geometry import VIEW_NAMES, Pose, standard_pose
from ..core.tasks.planes import plane_centre
from ..core.tasks.viewgen import Generation, generation_job
from ..layer_data import (
    GENERATED_ANATOMY,
    GENERATED_BMODE,
    GENERATED_STD,
    generated_view_layers,
)
from ..state import state_of
from .docks import fit_dock
from .jobs import CANCEL_TIP, JobPanel, layer_list_events, progress_bar, watch
from .layers import NONE, add_layers, layer_kind, remove_own, view_image
from .model_box import GENERATORS, ModelBox
from .view_preview import anatomy_tile, readout, to_pixmap

OWNER = "missing views"  #: the maker of the generated views
#: the anatomy drawn by the simulator: the sharpest plane, and level with or ahead of
#: the GAN on every similarity score out of family (docs/model-card.md, Missing views)
DEFAULT_GENERATOR = "Anatomy (drawn by the simulator)"
STANDARD = " (standard plane)"
PICKER = " (plane picker)"


def posed_layers(viewer) -> list[str]:
    """Image layers that are slices with a known pose (not generated ones)."""
    return [
        layer.name
        for layer in viewer.layers
        if layer_kind(layer) == "image"
        and "pose" in (layer.metadata or {})
        and not (layer.metadata or {}).get("genmed_generated")
    ]


class MissingViewsWidget(JobPanel, Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=False, scrollable=True)
        self.viewer = napari_viewer
        self.state = state_of(napari_viewer)
        self.worker = None
        self.result: Generation | None = None
        self._observed_by_user = False
        self._syncing = False
        self.models = ModelBox(GENERATORS, DEFAULT_GENERATOR)
        self.observed = Select(
            choices=lambda w=None: posed_layers(self.viewer),
            label="observed slices",
            tooltip="the acquired slices the generator sees (by default the assigned views)",
        )
        self.query = ComboBox(
            choices=self._query_choices,
            value=f"coronal{STANDARD}",
            label="query plane",
            tooltip="the plane to generate",
        )
        self.truth = ComboBox(
            choices=self._truth_choices,
            value=NONE,
            label="true head",
            tooltip="a phantom's labels to render the true plane from (scores)",
        )
        self.samples = SpinBox(
            value=1,
            min=1,
            max=32,
            label="samples",
            tooltip="more: the mean of variants and their std",
        )
        self.seed = SpinBox(
            value=0, min=0, max=2**31 - 1, label="seed", tooltip="seed of the variants"
        )
        self.texture = CheckBox(
            value=False,
            text="scanner texture",
            tooltip="also draw one B-mode sample around the generated plane, as a layer "
            "above it: the speckle a scanner would show (the smooth plane stays the estimate)",
        )
        self.run_button = PushButton(text="Generate", tooltip="generate the query plane")
        self.cancel = PushButton(text="Cancel", enabled=False, tooltip=CANCEL_TIP)
        self.progress = progress_bar(label="progress")
        self.titles = Label(value="")
        self.preview = Label(value="")
        self.readout = Label(value="")
        settings = Container(
            widgets=[
                self.observed,
                self.query,
                self.truth,
                self.samples,
                self.seed,
                self.texture,
                self.progress,
            ],
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
        self.observed.changed.connect(self._on_observed)
        self.run_button.changed.connect(self.run)
        self.cancel.changed.connect(self.stop)
        watch(self, layer_list_events(napari_viewer), self._refresh)
        watch(self, [self.state.views_changed, self.state.planes_changed], self._refresh)
        self.stop_on_close()
        self._refresh()
        self.wait_for_model(self.run_button, "a view generator")
        fit_dock(self)  # one tabbed column that fits the screen

    # -- choices ----------------------------------------------------------------
    def _query_choices(self, widget=None):
        out = [f"{v}{STANDARD}" for v in VIEW_NAMES]
        return out + [f"{v}{PICKER}" for v in VIEW_NAMES if v in self.state.planes]

    def _truth_choices(self, widget=None):
        return [NONE] + [
            layer.name
            for layer in self.viewer.layers
            if layer_kind(layer) == "labels" and "genmed_phantom" in (layer.metadata or {})
        ]

    def _on_observed(self, value):
        if not self._syncing:
            self._observed_by_user = True

    def _refresh(self, *_):
        """New choices, the user's picks kept; until the user picks observed slices,
        they follow the assigned views (those with a pose), less the query's view."""
        for combo in (self.query, self.truth):
            current = combo.value
            combo.reset_choices()
            combo.value = current if current in combo.choices else combo.choices[0]
        posed = posed_layers(self.viewer)
        self._syncing = True
        try:
            self.observed.reset_choices()
            if self._observed_by_user:
                self.observed.value = [n for n in (self.observed.value or []) if n in posed]
            else:
                view = str(self.query.value).split(" ")[0]
                assigned = self.state.assigned()
                self.observed.value = [n for v, n in assigned.items() if v != view and n in posed]
        finally:
            self._syncing = False

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
            pose = self.state.planes.get(view)
            if pose is None:
                raise ValueError("the Plane picker has no volume to place planes in")
            return view, pose
        truth = self._truth_layer()
        if truth is not None:
            centre = plane_centre(np.asarray(truth.data), float(truth.scale[0]), is_labels=True)
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
            spacing = float(truth.scale[0]) if truth is not None else 2.0
            job = generation_job(
                model,
                obs,
                query,
                view,
                int(self.samples.value),
                int(self.seed.value),
                labels,
                spacing,
                bool(self.texture.value),
            )
            next(job)  # bad slices fail here, before a worker starts
        except (ValueError, KeyError) as exc:
            show_error(f"Cannot generate: {exc}")
            return None
        return self.launch(job, "Generating a view", self._on_result)

    def start_buttons(self):
        return [self.run_button, self.models.load]

    def _on_result(self, result: Generation):
        if self.worker is not None and self.worker.abort_requested:
            return
        g = result.generated
        layers = generated_view_layers(g, result.view, int(self.seed.value))
        add_layers(self.viewer, layers, OWNER)
        if g.std is None:
            remove_own(self.viewer, GENERATED_STD.format(view=result.view), OWNER)
        if g.bmode is None:
            remove_own(self.viewer, GENERATED_BMODE.format(view=result.view), OWNER)
        if g.anatomy is None:
            remove_own(self.viewer, GENERATED_ANATOMY.format(view=result.view), OWNER)
        tiles, titles = [g.image], ["generated"]
        if result.truth is not None:
            tiles += [result.truth, np.abs(g.image - result.truth)]
            titles += ["truth (no speckle)", "|difference|"]
        if g.std is not None:
            tiles.append(g.std / max(float(g.std.max()), 1e-6))
            titles.append("std over samples")
        if g.bmode is not None:
            tiles.append(g.bmode)
            titles.append("one B-mode sample")
        if g.anatomy is not None:
            tiles.append(anatomy_tile(g.anatomy))
            titles.append("the labels it drew")
        self.preview.native.setPixmap(to_pixmap(tiles))
        self.titles.value = "\n".join(  # as the tiles: two per row
            "  |  ".join(titles[k : k + 2]) for k in range(0, len(titles), 2)
        )
        self.readout.value = readout(result)
        self.result = result
